/// The wire form of a ``ContextUpdate`` in a region stream.
///
/// Entry id `<seq>-0`; fields `ctx`, `ver`, `op`, `body`, `ts` (hub commit time, ms) and `sum`
/// (``Checksum/entry(id:version:op:body:)``). Unknown fields are ignored so that newer hubs can add
/// fields; a missing or repeated known field is an error.
public enum StreamEntryCodec {
    /// Field names, in the order the hub writes them.
    public enum Field {
        public static let ctx = "ctx"
        public static let ver = "ver"
        public static let op = "op"
        public static let body = "body"
        public static let ts = "ts"
        public static let sum = "sum"
        static let all = [ctx, ver, op, body, ts, sum]
    }

    /// The stream entry id for a region sequence number.
    public static func entryID(seq: UInt64) -> String { "\(seq)-0" }

    /// Parses `<seq>-0`; returns `nil` for anything else (including ids made by `XADD *`).
    public static func seq(fromEntryID id: String) -> UInt64? {
        guard id.hasSuffix("-0") else { return nil }
        let digits = id.utf8.dropLast(2)
        guard !digits.isEmpty, digits.count <= 20, digits.allSatisfy({ (0x30...0x39).contains($0) }),
            let seq = UInt64(String(decoding: digits, as: UTF8.self)), seq > 0
        else { return nil }
        return seq
    }

    /// How many fields ``encode(_:into:)`` writes.
    public static let fieldCount = 6

    /// Writes the fields of `update`, in order, into `sink`: the one definition of the wire form.
    public static func encode<Sink: StreamFieldSink>(_ update: ContextUpdate, into sink: inout Sink) {
        sink.field(Field.ctx, text: update.id.value)
        sink.field(Field.ver, integer: update.version)
        sink.field(Field.op, text: update.op.rawValue)
        sink.field(Field.body, bytes: update.body)
        sink.field(Field.ts, integer: update.hubTimeMs)
        sink.field(Field.sum, text: Checksum.entry(id: update.id, version: update.version, op: update.op, body: update.body))
    }

    /// The fields of `update` as name/value pairs.
    public static func encode(_ update: ContextUpdate) -> [(String, [UInt8])] {
        var sink = PairSink()
        encode(update, into: &sink)
        return sink.pairs
    }

    struct PairSink: StreamFieldSink {
        var pairs: [(String, [UInt8])] = []
        mutating func field(_ name: String, text: String) { pairs.append((name, Array(text.utf8))) }
        mutating func field(_ name: String, bytes: [UInt8]) { pairs.append((name, bytes)) }
        mutating func field(_ name: String, integer: Int64) { pairs.append((name, Array(String(integer).utf8))) }
    }

    /// Decodes and validates one stream entry.
    ///
    /// - Throws: ``EntryError`` naming the field and what was wrong with it.
    public static func decode(entryID: String, fields: [(String, [UInt8])], rules: BodyRules) throws(EntryError) -> ContextUpdate {
        guard let seq = seq(fromEntryID: entryID) else {
            throw EntryError(.badEntryID, field: "id", detail: "entry id '\(entryID)' is not '<seq>-0' with seq >= 1")
        }
        // Six known fields: a fixed slot array beats a dictionary on this hot path.
        var slots: [[UInt8]?] = [nil, nil, nil, nil, nil, nil]
        for (name, value) in fields {
            guard let slot = Field.all.firstIndex(of: name) else { continue }
            guard slots[slot] == nil else {
                throw EntryError(.duplicateField, field: name, detail: "field '\(name)' appears more than once")
            }
            slots[slot] = value
        }
        func required(_ name: String) throws(EntryError) -> [UInt8] {
            guard let slot = Field.all.firstIndex(of: name), let value = slots[slot] else {
                throw EntryError(.missingField, field: name, detail: "field '\(name)' is missing")
            }
            return value
        }
        let ctxBytes = try required(Field.ctx)
        let idText = String(decoding: ctxBytes, as: UTF8.self)
        let id: ContextID
        do { id = try ContextID(idText) } catch {
            throw EntryError(.badContextID, field: Field.ctx, detail: error.description)
        }
        let verText = String(decoding: try required(Field.ver), as: UTF8.self)
        guard let version = Int64(verText), version > 0 else {
            throw EntryError(.badVersion, field: Field.ver, detail: "version '\(verText.prefix(40))' is not a positive integer")
        }
        let opText = String(decoding: try required(Field.op), as: UTF8.self)
        guard let op = ContextOp(rawValue: opText) else {
            throw EntryError(.unknownOp, field: Field.op, detail: "op '\(opText.prefix(40))' is not 'put', 'del' or 'snap'")
        }
        let tsText = String(decoding: try required(Field.ts), as: UTF8.self)
        guard let ts = Int64(tsText), ts >= 0 else {
            throw EntryError(.badTimestamp, field: Field.ts, detail: "timestamp '\(tsText.prefix(40))' is not a non-negative integer")
        }
        let body = slots[3] ?? []
        switch op {
        case .put, .snap:
            if let problem = rules.problem(with: body) {
                throw EntryError(body.count > rules.maxBytes ? .bodyTooLarge : .badBody, field: Field.body, detail: problem)
            }
        case .del:
            guard body.isEmpty else {
                throw EntryError(.badBody, field: Field.body, detail: "a 'del' entry carries an empty body, got \(body.count) bytes")
            }
        }
        let sum = String(decoding: try required(Field.sum), as: UTF8.self)
        let expected = Checksum.entry(id: id, version: version, op: op, body: body)
        guard sum == expected else {
            throw EntryError(.checksumMismatch, field: Field.sum, detail: "checksum '\(sum.prefix(40))' does not match the entry (expected \(expected))")
        }
        return ContextUpdate(seq: seq, id: id, version: version, op: op, body: body, hubTimeMs: ts)
    }
}

/// Receives the fields of an encoded entry; lets the publisher write them straight into its
/// pipeline buffer without intermediate arrays.
public protocol StreamFieldSink {
    mutating func field(_ name: String, text: String)
    mutating func field(_ name: String, bytes: [UInt8])
    mutating func field(_ name: String, integer: Int64)
}
