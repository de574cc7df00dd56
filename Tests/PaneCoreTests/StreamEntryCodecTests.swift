import PaneCore
import Testing

@Suite struct StreamEntryCodecTests {
    let rules = BodyRules(maxBytes: 64)

    func sample(op: ContextOp = .put, body: String = #"{"a":1}"#) throws -> ContextUpdate {
        let id = try ContextID("tenant/acme")
        let time: Int64 = 1_700_000_000_000_123
        if op == .batch {
            // A batch of one put: the entry's ctx and ver are the operation's.
            let put = ContextUpdate(seq: 7, id: id, version: 3, op: .put, body: Array(body.utf8), hubTimeUs: time)
            return ContextUpdate(
                seq: 7, id: id, version: 3, op: .batch, body: BatchEntryCodec.encode([(.put, id, 3, put.body)]), hubTimeUs: time,
                operations: [put])
        }
        return ContextUpdate(seq: 7, id: id, version: 3, op: op, body: op == .del ? [] : Array(body.utf8), hubTimeUs: time)
    }

    @Test func roundTrip() throws {
        for op in ContextOp.allCases {
            let update = try sample(op: op)
            let fields = StreamEntryCodec.encode(update)
            let decoded = try StreamEntryCodec.decode(entryID: "7-0", fields: fields, rules: rules)
            #expect(decoded == update)
        }
    }

    @Test func entryIDs() {
        #expect(StreamEntryCodec.entryID(seq: 42) == "42-0")
        #expect(StreamEntryCodec.seq(fromEntryID: "42-0") == 42)
        #expect(StreamEntryCodec.seq(fromEntryID: "0-0") == nil)
        #expect(StreamEntryCodec.seq(fromEntryID: "42-1") == nil)
        #expect(StreamEntryCodec.seq(fromEntryID: "1700000000000-0") == 1_700_000_000_000)
        #expect(StreamEntryCodec.seq(fromEntryID: "-0") == nil)
        #expect(StreamEntryCodec.seq(fromEntryID: "x-0") == nil)
    }

    /// Each malformed entry fails with the kind and field that name what is wrong.
    @Test(arguments: MalformedCase.all)
    func malformed(_ testCase: MalformedCase) throws {
        let fields = testCase.mutate(StreamEntryCodec.encode(try sample()))
        #expect {
            _ = try StreamEntryCodec.decode(entryID: testCase.entryID, fields: fields, rules: rules)
        } throws: { error in
            guard let error = error as? EntryError else { return false }
            return error.kind == testCase.kind && error.field == testCase.field
        }
    }

    @Test func hubWritesMicrosecondsUnderTsus() throws {
        let fields = StreamEntryCodec.encode(try sample())
        #expect(fields.map(\.0) == ["ctx", "ver", "op", "body", "tsus", "sum"])
        #expect(fields.count == StreamEntryCodec.fieldCount)
        #expect(fields.first { $0.0 == "tsus" }?.1 == Array("1700000000000123".utf8))
    }

    /// An entry as hubs wrote it before issue 13: `ts` in ms, and a `sum` that does not cover it.
    static func legacyFields(_ update: ContextUpdate, ts: String) -> [(String, [UInt8])] {
        [
            ("ctx", Array(update.id.value.utf8)), ("ver", Array(String(update.version).utf8)), ("op", Array(update.op.rawValue.utf8)),
            ("body", update.body), ("ts", Array(ts.utf8)),
            ("sum", Array(Checksum.entry(id: update.id, version: update.version, op: update.op, body: update.body).utf8)),
        ]
    }

    @Test func millisecondEntriesStillDecode() throws {
        // Batches came after `tsus`: no hub wrote one with `ts`.
        for op in ContextOp.allCases where op != .batch {
            var update = try sample(op: op)
            let decoded = try StreamEntryCodec.decode(entryID: "7-0", fields: Self.legacyFields(update, ts: "1700000000000"), rules: rules)
            update.hubTimeUs = 1_700_000_000_000_000
            #expect(decoded == update)
            #expect(decoded.hubTimeMs == 1_700_000_000_000)
        }
    }

    @Test func checksumCoversTheMicroseconds() throws {
        let update = try sample()
        var later = update
        later.hubTimeUs += 1
        #expect(
            Checksum.entry(id: update.id, version: 3, op: .put, body: update.body, hubTimeUs: update.hubTimeUs)
                != Checksum.entry(id: update.id, version: 3, op: .put, body: update.body, hubTimeUs: later.hubTimeUs))
        // The new checksum differs from the old one, so `tsus` cannot pass for `ts` or back.
        #expect(
            Checksum.entry(id: update.id, version: 3, op: .put, body: update.body, hubTimeUs: update.hubTimeUs)
                != Checksum.entry(id: update.id, version: 3, op: .put, body: update.body))
    }

    @Test func unknownFieldsAreIgnored() throws {
        var fields = StreamEntryCodec.encode(try sample())
        fields.append(("future", Array("x".utf8)))
        #expect(try StreamEntryCodec.decode(entryID: "7-0", fields: fields, rules: rules) == sample())
    }

    /// A re-sent entry carries `replay` = `1` after `sum`, outside the checksum: without the
    /// field (what a spoke from before the marker sees, since it ignores unknown fields) it is
    /// the same valid entry, so old spokes keep reading a new hub's replays.
    @Test func replayMarkerRoundTripsOutsideTheChecksum() throws {
        var update = try sample()
        update.replay = true
        let fields = StreamEntryCodec.encode(update)
        #expect(fields.map(\.0) == ["ctx", "ver", "op", "body", "tsus", "sum", "replay"])
        #expect(fields.count == StreamEntryCodec.fieldCount(of: update))
        #expect(fields.last?.1 == Array("1".utf8))
        let decoded = try StreamEntryCodec.decode(entryID: "7-0", fields: fields, rules: rules)
        #expect(decoded.replay)
        #expect(decoded == update)
        let withoutMarker = fields.filter { $0.0 != "replay" }
        let plain = StreamEntryCodec.encode(try sample())
        #expect(withoutMarker.map(\.0) == plain.map(\.0))
        #expect(withoutMarker.map(\.1) == plain.map(\.1))
        let old = try StreamEntryCodec.decode(entryID: "7-0", fields: withoutMarker, rules: rules)
        #expect(!old.replay)
        #expect(old == (try sample()))
        #expect(StreamEntryCodec.fieldCount(of: try sample()) == StreamEntryCodec.fieldCount)
    }
}

struct MalformedCase: Sendable, CustomTestStringConvertible {
    let name: String
    var entryID = "7-0"
    let kind: EntryError.Kind
    let field: String
    let mutate: @Sendable ([(String, [UInt8])]) -> [(String, [UInt8])]

    var testDescription: String { name }

    static func replacing(_ name: String, _ value: String) -> @Sendable ([(String, [UInt8])]) -> [(String, [UInt8])] {
        { fields in fields.map { $0.0 == name ? ($0.0, Array(value.utf8)) : $0 } }
    }

    static let all: [MalformedCase] = [
        MalformedCase(name: "star id", entryID: "1700000000000-3", kind: .badEntryID, field: "id", mutate: { $0 }),
        MalformedCase(name: "missing ctx", kind: .missingField, field: "ctx", mutate: { $0.filter { $0.0 != "ctx" } }),
        MalformedCase(name: "missing ver", kind: .missingField, field: "ver", mutate: { $0.filter { $0.0 != "ver" } }),
        MalformedCase(name: "missing sum", kind: .missingField, field: "sum", mutate: { $0.filter { $0.0 != "sum" } }),
        MalformedCase(name: "duplicate ver", kind: .duplicateField, field: "ver", mutate: { $0 + [("ver", Array("4".utf8))] }),
        MalformedCase(name: "empty ctx", kind: .badContextID, field: "ctx", mutate: replacing("ctx", "")),
        MalformedCase(name: "ctx with space", kind: .badContextID, field: "ctx", mutate: replacing("ctx", "a b")),
        MalformedCase(name: "ctx too long", kind: .badContextID, field: "ctx", mutate: replacing("ctx", String(repeating: "x", count: 257))),
        MalformedCase(name: "ver not a number", kind: .badVersion, field: "ver", mutate: replacing("ver", "three")),
        MalformedCase(name: "ver zero", kind: .badVersion, field: "ver", mutate: replacing("ver", "0")),
        MalformedCase(name: "unknown op", kind: .unknownOp, field: "op", mutate: replacing("op", "upsert")),
        MalformedCase(name: "bad tsus", kind: .badTimestamp, field: "tsus", mutate: replacing("tsus", "yesterday")),
        MalformedCase(name: "negative tsus", kind: .badTimestamp, field: "tsus", mutate: replacing("tsus", "-1")),
        MalformedCase(name: "missing tsus", kind: .missingField, field: "tsus", mutate: { $0.filter { $0.0 != "tsus" } }),
        MalformedCase(name: "ts and tsus", kind: .duplicateField, field: "tsus", mutate: { $0 + [("ts", Array("1700000000000".utf8))] }),
        MalformedCase(name: "tsus changed", kind: .checksumMismatch, field: "sum", mutate: replacing("tsus", "1700000000000124")),
        MalformedCase(
            name: "tsus renamed ts", kind: .checksumMismatch, field: "sum",
            mutate: { $0.map { $0.0 == "tsus" ? ("ts", Array("1700000000000".utf8)) : $0 } }),
        MalformedCase(
            name: "bad legacy ts", kind: .badTimestamp, field: "ts", mutate: { $0.map { $0.0 == "tsus" ? ("ts", Array("yesterday".utf8)) : $0 } }),
        MalformedCase(
            name: "legacy ts beyond µs", kind: .badTimestamp, field: "ts",
            mutate: { $0.map { $0.0 == "tsus" ? ("ts", Array("9223372036854776".utf8)) : $0 } }),
        MalformedCase(name: "body not JSON", kind: .badBody, field: "body", mutate: replacing("body", "{nope")),
        MalformedCase(name: "body too large", kind: .bodyTooLarge, field: "body", mutate: replacing("body", "\"" + String(repeating: "x", count: 80) + "\"")),
        MalformedCase(name: "checksum mismatch", kind: .checksumMismatch, field: "sum", mutate: replacing("body", #"{"a":2}"#)),
        MalformedCase(name: "bad checksum text", kind: .checksumMismatch, field: "sum", mutate: replacing("sum", "zz")),
        MalformedCase(name: "replay marker not 1", kind: .badMarker, field: "replay", mutate: { $0 + [("replay", Array("yes".utf8))] }),
        MalformedCase(name: "empty replay marker", kind: .badMarker, field: "replay", mutate: { $0 + [("replay", [])] }),
        MalformedCase(
            name: "duplicate replay marker", kind: .duplicateField, field: "replay",
            mutate: { $0 + [("replay", Array("1".utf8)), ("replay", Array("1".utf8))] }),
    ]
}

@Suite struct ChecksumTests {
    /// The numeric checksum equals the text one for every version shape, and the hex parser
    /// accepts exactly what `hex16` writes.
    @Test(arguments: [Int64(1), 9, 10, 42, 1_000_000_007, Int64.max, -1, -907, Int64.min])
    func numericChecksumMatchesTheText(version: Int64) throws {
        let id = try ContextID("tenant/acme")
        let body = Array(#"{"a":1}"#.utf8)
        let value = Checksum.entryValue(id: id, version: version, op: .put, body: body)
        var h = Checksum.fnv1a64(id.value.utf8)
        h = Checksum.fnv1a64([0], seed: h)
        h = Checksum.fnv1a64(String(version).utf8, seed: h)
        h = Checksum.fnv1a64([0], seed: h)
        h = Checksum.fnv1a64("put".utf8, seed: h)
        h = Checksum.fnv1a64([0], seed: h)
        h = Checksum.fnv1a64(body, seed: h)
        #expect(value == h)
        let text = Checksum.entry(id: id, version: version, op: .put, body: body)
        #expect(Checksum.parseHex16(Array(text.utf8)) == value)
        #expect(Checksum.parseHex16(Array(text.uppercased().utf8)) == (text == text.uppercased() ? value : nil))
        #expect(Checksum.parseHex16(Array(text.dropLast().utf8)) == nil)
    }
}
