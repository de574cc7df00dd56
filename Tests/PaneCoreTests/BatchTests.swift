import PaneCore
import Testing

/// Issue 13, item 4: the batch request (`POST /v1/batch`) and the `batch` stream entry.
@Suite struct BatchTests {
    let rules = BodyRules(maxBytes: 64)

    func parse(_ text: String) throws(BatchError) -> [BatchOperation] {
        try BatchRequest.parse(Array(text.utf8), rules: rules)
    }

    func refusal(_ text: String) -> BatchError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func parsesPutsDeletesAndRegionsKeepingBodiesByteForByte() throws {
        let operations = try parse(
            #"""
             [ {"op":"put","id":"a","body": {"x" : [1, 2.5e3]} },
               {"regions":["eu","us"],"id":"b\/c","op":"delete"},
               {"op":"del","id":"\u0064"} ]
            """#)
        #expect(operations.count == 3)
        #expect(operations[0] == BatchOperation(op: .put, id: try ContextID("a"), body: Array(#"{"x" : [1, 2.5e3]}"#.utf8)))
        #expect(operations[1] == BatchOperation(op: .del, id: try ContextID("b/c"), body: [], regions: [try Region("eu"), try Region("us")]))
        #expect(operations[2].id.value == "d" && operations[2].op == .del && operations[2].regions == nil)
    }

    /// Every refusal names the operation at fault (or none, when the batch as a whole is wrong)
    /// and what was wrong.
    @Test(arguments: [
        (#"{"op":"put"}"#, nil, "expected a JSON list"),
        ("[]", nil, "the list is empty"),
        (#"[{"op":"put","id":"a","body":1}] x"#, nil, "after the list"),
        (#"[{"op":"put","id":"a","body":1},{"op":"put","id":"b"}]"#, 1, "needs a 'body'"),
        (#"[{"op":"put","id":"a","body":1},{"op":"put","id":"a","body":2}]"#, 1, "appears earlier"),
        (#"[{"op":"upsert","id":"a","body":1}]"#, 0, "op 'upsert'"),
        (#"[{"id":"a","body":1}]"#, 0, "'op' is missing"),
        (#"[{"op":"put","body":1}]"#, 0, "'id' is missing"),
        (#"[{"op":"put","id":"a b","body":1}]"#, 0, "visible ASCII"),
        (#"[{"op":"put","id":"a","body":1,"regoins":["eu"]}]"#, 0, "unknown field 'regoins'"),
        (#"[{"op":"put","id":"a","body":1,"regions":[]}]"#, 0, "'regions' is empty"),
        (#"[{"op":"put","id":"a","body":1,"regions":["eu","eu"]}]"#, 0, "listed twice"),
        (#"[{"op":"put","id":"a","body":1,"regions":["EU"]}]"#, 0, "region name"),
        (#"[{"op":"put","id":"a","body":1},{"op":"put","id":"b","body":{"a":}}]"#, 1, "not valid JSON"),
        (#"[{"op":"put","id":"a","body":"\#(String(repeating: "x", count: 70))"}]"#, 0, "over the limit of 64"),
        (#"[{"op":"delete","id":"a","body":1}]"#, 0, "has no 'body'"),
        (#"[{"op":"put","id":"a","id":"b","body":1}]"#, 0, "more than once"),
        (#"[{"op":"put","id":"\u00e9","body":1}]"#, 0, "outside ASCII"),
        (#"[{"op":"put","id":"a","body":1} {"op":"put","id":"b","body":1}]"#, 0, "expected ',' or ']'"),
        (#"[{"op":"put","id":"a","body":1},"#, 1, "expected an object"),
    ] as [(String, Int?, String)])
    func refusals(_ text: String, _ index: Int?, _ phrase: String) throws {
        let error = try #require(refusal(text))
        #expect(error.index == index, "\(error)")
        #expect(error.description.contains(phrase), "\(error)")
        if let index { #expect(error.description.contains("operation \(index):")) }
    }

    @Test func atMostOneThousandOperations() throws {
        let op = { (i: Int) in #"{"op":"put","id":"c\#(i)","body":1}"# }
        #expect(try parse("[" + (0..<1_000).map(op).joined(separator: ",") + "]").count == 1_000)
        let error = try #require(refusal("[" + (0..<1_001).map(op).joined(separator: ",") + "]"))
        #expect(error.index == nil && error.description.contains("at most 1000"))
    }

    @Test func refusesInvalidUTF8() {
        var bytes = Array(#"[{"op":"put","id":"a","body":"x"}]"#.utf8)
        bytes[29] = 0xFF
        #expect(throws: BatchError.self) { try BatchRequest.parse(bytes, rules: rules) }
    }

    /// A `put`'s body is checked once, by the batch parser's own scan (issue 13: no second pass
    /// of ``JSONValidator`` over it): it accepts exactly the bodies ``BodyRules`` accepts alone.
    @Test func aBodyIsAcceptedExactlyWhenTheBodyRulesAcceptIt() {
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        let bodies = [
            "1", "-0.5e+3", "\"x\"", "true", "null", "{\"a\":[1,{\"b\":null}]}", "[]", "{}", "\"\\u00e9\\n\"",
            "01", "1.", "-", "1e", "tru", "nul", "{\"a\":1,}", "[1,]", "{\"a\"}", "{a:1}", "'x'", "\"\\x\"", "\"\\ud83\"",
            "[[[[1]]]]", deep, "\"\u{7}\"", "+1", "0x10", "NaN", "1 ", String(repeating: "9", count: 70),
        ]
        let wide = BodyRules(maxBytes: 1 << 16)
        for body in bodies {
            let batch = #"[{"op":"put","id":"a","body":"# + body + "}]"
            let parsed = (try? BatchRequest.parse(Array(batch.utf8), rules: wide)) != nil
            #expect(parsed == (wide.problem(with: Array(body.trimmingSuffixSpaces.utf8)) == nil), "\(body.prefix(40))")
        }
    }

    // MARK: the stream entry

    func share() throws -> [(op: ContextOp, id: ContextID, version: Int64, body: [UInt8])] {
        [(.put, try ContextID("a"), 4, Array(#"{"n":1}"#.utf8)), (.del, try ContextID("b"), 9, []), (.put, try ContextID("c"), 1, Array("[]".utf8))]
    }

    func entry(_ body: [UInt8], ctx: String = "a", ver: Int64 = 9) throws -> [(String, [UInt8])] {
        StreamEntryCodec.encode(ContextUpdate(seq: 12, id: try ContextID(ctx), version: ver, op: .batch, body: body, hubTimeUs: 5_000_123))
    }

    @Test func aBatchEntryRoundTripsWithItsOperations() throws {
        let body = BatchEntryCodec.encode(try share())
        #expect(String(decoding: body, as: UTF8.self) == "1 3\nput 4 1 7\na{\"n\":1}\ndel 9 1 0\nb\nput 1 1 2\nc[]\n")
        let decoded = try StreamEntryCodec.decode(entryID: "12-0", fields: try entry(body), rules: rules)
        #expect(decoded.op == .batch && decoded.seq == 12)
        #expect(decoded.operations.map(\.id.value) == ["a", "b", "c"])
        #expect(decoded.operations.map(\.version) == [4, 9, 1])
        #expect(decoded.operations.map(\.op) == [.put, .del, .put])
        #expect(decoded.operations.allSatisfy { $0.seq == 12 && $0.hubTimeUs == 5_000_123 && $0.operations.isEmpty })
        #expect(decoded.operations[0].body == Array(#"{"n":1}"#.utf8))
        #expect(BatchEntryCodec.contextIDs(in: body)?.map(\.value) == ["a", "b", "c"])
    }

    /// A hand-made or damaged batch entry is refused with what is wrong (a dead letter), never
    /// applied in part.
    @Test func malformedBatchEntriesAreRefused() throws {
        let good = String(decoding: BatchEntryCodec.encode(try share()), as: UTF8.self)
        let cases: [(String, String, Int64, EntryError.Kind, String)] = [
            (good.replacingOccurrences(of: "1 3\n", with: "2 3\n"), "a", 9, .badBatch, "format '2'"),
            (good.replacingOccurrences(of: "1 3\n", with: "1 4\n"), "a", 9, .badBatch, "operation 3"),
            (good.replacingOccurrences(of: "1 3\n", with: "1 2\n"), "a", 9, .badBatch, "unexpected bytes"),
            (good.replacingOccurrences(of: "1 3\n", with: "1 0\n"), "a", 9, .badBatch, "count"),
            (good.replacingOccurrences(of: "put 4 1 7", with: "put 4 1 9"), "a", 9, .badBatch, "operation 0"),
            (good.replacingOccurrences(of: "del 9 1 0\nb", with: "del 9 1 0\na"), "a", 9, .badBatch, "appears twice"),
            (good.replacingOccurrences(of: "del 9", with: "snap 9"), "a", 9, .badBatch, "not 'put' or 'del'"),
            (good.replacingOccurrences(of: "del 9", with: "del 0"), "a", 9, .badBatch, "version"),
            (good.replacingOccurrences(of: "[]", with: "[x"), "a", 9, .badBody, "operation 2"),
            (good, "b", 9, .badBatch, "'ctx'"),
            (good, "a", 8, .badBatch, "'ver'"),
            ("", "a", 9, .badBatch, "first line"),
        ]
        for (body, ctx, ver, kind, phrase) in cases {
            let fields = try entry(Array(body.utf8), ctx: ctx, ver: ver)
            do {
                _ = try StreamEntryCodec.decode(entryID: "12-0", fields: fields, rules: rules)
                Issue.record("accepted: \(body.debugDescription)")
            } catch {
                #expect(error.kind == kind && error.detail.contains(phrase), "\(body.debugDescription): \(error)")
            }
        }
    }

    /// The batch body is covered by the entry's checksum like any body.
    @Test func theChecksumCoversTheBatchBody() throws {
        var fields = try entry(BatchEntryCodec.encode(try share()))
        let index = try #require(fields.firstIndex { $0.0 == "body" })
        fields[index].1 = Array(String(decoding: fields[index].1, as: UTF8.self).replacingOccurrences(of: "{\"n\":1}", with: "{\"n\":2}").utf8)
        #expect(throws: EntryError.self) { try StreamEntryCodec.decode(entryID: "12-0", fields: fields, rules: rules) }
    }
}

@Suite struct BatchAccessTests {
    /// A batch is a write: a `write` token may send it; other POSTs stay `admin`.
    @Test func aBatchNeedsAWriteToken() {
        #expect(Access.required(method: "POST", path: "/v1/batch") == .write)
        #expect(Access.required(method: "post", path: "/v1/batch") == .write)
        #expect(Access.required(method: "GET", path: "/v1/batch") == .read)
        #expect(Access.required(method: "POST", path: "/v1/regions/eu/republish") == .admin)
    }
}

extension String {
    fileprivate var trimmingSuffixSpaces: String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
