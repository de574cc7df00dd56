import Foundation
import PaneCore
import Testing

@Suite struct JSONValidatorTests {
    static let valid = [
        "0", "-0", "1.5e10", "-12.25E-3", "\"\"", "\"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9\"", "true", "false", "null",
        "[]", "{}", " [1, 2 ,3 ] ", "{\"a\":{\"b\":[null,{}]}}", "\"héllo ☃\"", "[\"\\uD83D\\uDE00\"]",
    ]
    static let invalid = [
        "", " ", "01", "1.", ".5", "-", "+1", "1e", "tru", "nul", "[1,]", "[,1]", "{\"a\"}", "{\"a\":}", "{a:1}",
        "{\"a\":1,}", "\"unterminated", "\"bad \\x escape\"", "\"ctrl \u{01}\"", "[1] 2", "{}{}", "\"\\u12G4\"", "[",
    ]

    @Test(arguments: valid)
    func acceptsValid(_ text: String) {
        #expect(JSONValidator.isValid(Array(text.utf8)))
    }

    @Test(arguments: invalid)
    func refusesInvalid(_ text: String) {
        #expect(!JSONValidator.isValid(Array(text.utf8)))
    }

    @Test func refusesInvalidUTF8AndDeepNesting() {
        #expect(!JSONValidator.isValid([0x22, 0xFF, 0x22]))
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(!JSONValidator.isValid(Array(deep.utf8)))
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(JSONValidator.isValid(Array(fine.utf8)))
    }

    /// Agrees with Foundation on random byte soup built from JSON's own characters. The letter
    /// `e` is left out (so no exponents and no `true`/`false`, which other tests cover): Foundation
    /// refuses numbers beyond Double's range (`1e999`), which RFC 8259 allows and Pane stores as
    /// written.
    @Test func agreesWithFoundation() {
        let alphabet = Array("{}[]:,\"\\ 0123456789.-+nul".utf8)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            let bytes = (0..<Int.random(in: 1...12, using: &rng)).map { _ in alphabet.randomElement(using: &rng) ?? 0x20 }
            let foundation = (try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) != nil
            #expect(JSONValidator.isValid(bytes) == foundation, "\(String(decoding: bytes, as: UTF8.self))")
        }
    }
}
