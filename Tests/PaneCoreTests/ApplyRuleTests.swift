import Foundation
import PaneCore
import Testing

@Suite struct ApplyRuleTests {
    @Test func newerWinsOlderAndEqualLose() {
        #expect(ApplyRule.decide(incoming: 1, stored: nil) == .apply)
        #expect(ApplyRule.decide(incoming: 5, stored: 4) == .apply)
        #expect(ApplyRule.decide(incoming: 4, stored: 4) == .ignore)
        #expect(ApplyRule.decide(incoming: 3, stored: 4) == .ignore)
    }

    /// Any order and any number of duplicates end at the highest version.
    @Test func orderAndDuplicatesDoNotMatter() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let versions = (0..<20).map { _ in Int64.random(in: 1...10, using: &generator) }
            var stored: Int64?
            for v in versions.shuffled() where ApplyRule.decide(incoming: v, stored: stored) == .apply {
                stored = v
            }
            #expect(stored == versions.max())
        }
    }
}

@Suite struct NameTests {
    @Test func regions() throws {
        #expect(try Region("eu-west-1").name == "eu-west-1")
        #expect(throws: ValidationError.self) { try Region("EU") }
        #expect(throws: ValidationError.self) { try Region("") }
        #expect(throws: ValidationError.self) { try Region("a{b}") }
        #expect(try Region.list("a,b").map(\.name) == ["a", "b"])
        #expect(throws: ValidationError.self) { try Region.list("a,a") }
        #expect(throws: ValidationError.self) { try Region.list("a,,b") }
    }

    @Test func contextIDs() throws {
        #expect(try ContextID("tenant/acme:settings").value == "tenant/acme:settings")
        #expect(try ContextID(String(repeating: "x", count: 256)).value.count == 256)
        #expect(throws: ValidationError.self) { try ContextID(String(repeating: "x", count: 257)) }
        #expect(throws: ValidationError.self) { try ContextID("tab\there") }
        #expect(throws: ValidationError.self) { try ContextID("é") }
        let error = #expect(throws: ValidationError.self) { try ContextID("") }
        #expect(error?.description.contains("context id") == true)
    }

    @Test func bodies() {
        let rules = BodyRules(maxBytes: 10)
        #expect(rules.problem(with: Array("[1,2]".utf8)) == nil)
        #expect(rules.problem(with: Array("\"s\"".utf8)) == nil)
        #expect(rules.problem(with: Array("{".utf8))?.contains("not valid JSON") == true)
        #expect(rules.problem(with: []) != nil)
        #expect(rules.problem(with: Array("[1,2,3,4,5,6]".utf8))?.contains("over the limit") == true)
    }

    @Test func jsonQuoting() {
        #expect(JSONText.quote("a\"b\\c") == #""a\"b\\c""#)
        #expect(JSONText.quote("tenant/acme~1") == #""tenant/acme~1""#)
        #expect(JSONText.quote("é\n\u{1}") == "\"é\\n\\u0001\"")
        #expect(JSONText.iso8601(ms: 0) == "1970-01-01T00:00:00.000Z")
    }

    /// The hand-written timestamp equals Foundation's formatter from 1970 to 9999, leap years
    /// and centuries included, and hands over to Foundation outside.
    @Test func iso8601MatchesFoundation() {
        // Foundation formats whole seconds (exact in a Double); the milliseconds are added here,
        // because a Double of `ms / 1000` can land just below the millisecond it means.
        func foundation(_ ms: Int64) -> String {
            var seconds = ms / 1000
            var millis = ms % 1000
            if millis < 0 {
                millis += 1000
                seconds -= 1
            }
            let whole = Date(timeIntervalSince1970: Double(seconds)).formatted(
                .iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false).timeSeparator(.colon)
                    .timeZone(separator: .omitted))
            let text = String(millis)
            return whole.dropLast() + "." + String(repeating: "0", count: 3 - text.count) + text + "Z"
        }
        var samples: [Int64] = [0, 1, 951_782_400_000, 951_868_799_999, 4_107_542_400_000, 1_764_547_200_123, 253_402_300_799_999]
        var random = SplitMix64(seed: 9)
        for _ in 0..<2_000 { samples.append(Int64(random.next() % 253_402_300_800_000)) }
        for ms in samples {
            #expect(JSONText.iso8601(ms: ms) == foundation(ms), "ms \(ms)")
        }
        #expect(JSONText.iso8601(ms: 951_782_400_000) == "2000-02-29T00:00:00.000Z")
        #expect(JSONText.iso8601(ms: 4_107_542_400_000) == "2100-03-01T00:00:00.000Z")
        // Outside 1970-9999, Foundation formats it.
        #expect(JSONText.iso8601(ms: -2_208_988_800_000) == "1900-01-01T00:00:00.000Z")
        #expect(JSONText.iso8601(ms: 253_402_300_800_000).hasPrefix("10000-01-01T00:00:00"))
    }

    @Test func checksumCoversEveryField() throws {
        let id = try ContextID("x")
        let base = Checksum.entry(id: id, version: 1, op: .put, body: Array("1".utf8))
        #expect(base != Checksum.entry(id: id, version: 2, op: .put, body: Array("1".utf8)))
        #expect(base != Checksum.entry(id: try ContextID("y"), version: 1, op: .put, body: Array("1".utf8)))
        #expect(base != Checksum.entry(id: id, version: 1, op: .del, body: Array("1".utf8)))
        #expect(base.count == 16)
    }
}

/// When a worker reads the rest of the hub's round before applying a batch.
@Suite struct ReadTopUpTests {
    @Test func asksForWhatTheHubsSeqSaysIsThereUpToTheBatchSize() {
        // Woken by the first entry of a round of 10: the other 9.
        #expect(ReadTopUp.count(read: 1, batchSize: 500, lastSeq: 1, hubSeq: 10) == 9)
        // More than a batch behind: only what fills the batch.
        #expect(ReadTopUp.count(read: 100, batchSize: 500, lastSeq: 100, hubSeq: 10_000) == 400)
        #expect(ReadTopUp.count(read: 499, batchSize: 500, lastSeq: 7, hubSeq: UInt64.max) == 1)
    }

    @Test func noTopUpWhenNothingMoreIsKnownToBeThere() {
        #expect(ReadTopUp.count(read: 3, batchSize: 500, lastSeq: 10, hubSeq: 10) == nil, "the round is complete")
        #expect(ReadTopUp.count(read: 3, batchSize: 500, lastSeq: 12, hubSeq: 10) == nil, "entries beyond the hub's seq")
        #expect(ReadTopUp.count(read: 3, batchSize: 500, lastSeq: 10, hubSeq: nil) == nil, "no hub seq")
        #expect(ReadTopUp.count(read: 3, batchSize: 500, lastSeq: nil, hubSeq: 10) == nil, "an id that is not a seq")
        #expect(ReadTopUp.count(read: 0, batchSize: 500, lastSeq: nil, hubSeq: 10) == nil, "an empty read")
        #expect(ReadTopUp.count(read: 500, batchSize: 500, lastSeq: 1, hubSeq: 10_000) == nil, "a full batch")
    }
}
