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
        #expect(JSONText.iso8601(ms: 0) == "1970-01-01T00:00:00.000Z")
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
