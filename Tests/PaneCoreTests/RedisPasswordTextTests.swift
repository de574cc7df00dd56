import PaneCore
import Testing

@Suite struct RedisPasswordTextTests {
    @Test func theFirstLineIsThePasswordExactly() throws {
        #expect(try RedisPasswordText.parse("s3cret\n").get() == "s3cret")
        #expect(try RedisPasswordText.parse("s3cret\r\n").get() == "s3cret")
        #expect(try RedisPasswordText.parse("s3cret").get() == "s3cret")
        #expect(try RedisPasswordText.parse(" with spaces \n\n").get() == " with spaces ", "spaces count, trailing blank lines do not")
    }

    @Test func emptyOrSeveralLinesAreRefusedWithoutShowingTheText() {
        for text in ["", "\n", "\r\n"] {
            guard case .failure(let error) = RedisPasswordText.parse(text) else {
                Issue.record("'\(text)' gave a password")
                continue
            }
            #expect(error.reason.contains("empty"))
        }
        guard case .failure(let error) = RedisPasswordText.parse("first-secret\nsecond-secret\n") else {
            Issue.record("two lines gave a password")
            return
        }
        #expect(error.reason.contains("2 lines") && !error.description.contains("secret"))
    }

    @Test func worldReadableFilesAreNamed() {
        #expect(RedisPasswordText.isWorldReadable(mode: 0o100644))
        #expect(!RedisPasswordText.isWorldReadable(mode: 0o100640))
        #expect(!RedisPasswordText.isWorldReadable(mode: 0o100600))
    }
}
