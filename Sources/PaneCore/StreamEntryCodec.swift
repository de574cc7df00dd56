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

    /// The fields of `update`, ready for XADD.
    public static func encode(_ update: ContextUpdate) -> [(String, [UInt8])] {
        [
            (Field.ctx, Array(update.id.value.utf8)),
            (Field.ver, Array(String(update.version).utf8)),
            (Field.op, Array(update.op.rawValue.utf8)),
            (Field.body, update.body),
            (Field.ts, Array(String(update.hubTimeMs).utf8)),
            (Field.sum, Array(Checksum.entry(id: update.id, version: update.version, op: update.op, body: update.body).utf8)),
        ]
    }

    /// Decodes and validates one stream entry.
    ///
    /// - Throws: ``EntryError`` naming the field and what was wrong with it.
    public static func decode(entryID: String, fields: [(String, [UInt8])], rules: BodyRules) throws(EntryError) -> ContextUpdate {
        guard let seq = seq(fromEntryID: entryID) else {
            throw EntryError(.badEntryID, field: "id", detail: "entry id '\(entryID)' is not '<seq>-0' with seq >= 1")
        }
        var values: [String: [UInt8]] = [:]
        for (name, value) in fields where Field.all.contains(name) {
            guard values[name] == nil else {
                throw EntryError(.duplicateField, field: name, detail: "field '\(name)' appears more than once")
            }
            values[name] = value
        }
        func required(_ name: String) throws(EntryError) -> [UInt8] {
            guard let value = values[name] else {
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
            throw EntryError(.unknownOp, field: Field.op, detail: "op '\(opText.prefix(40))' is neither 'put' nor 'del'")
        }
        let tsText = String(decoding: try required(Field.ts), as: UTF8.self)
        guard let ts = Int64(tsText), ts >= 0 else {
            throw EntryError(.badTimestamp, field: Field.ts, detail: "timestamp '\(tsText.prefix(40))' is not a non-negative integer")
        }
        let body = values[Field.body] ?? []
        switch op {
        case .put:
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
