/// The wire form of a ``ContextUpdate`` in a region stream.
///
/// Entry id `<seq>-0`; fields `ctx`, `ver`, `op`, `body`, `tsus` (hub commit time, µs since the
/// epoch) and `sum` (``Checksum/entry(id:version:op:body:hubTimeUs:)``, which covers `tsus`).
/// Unknown fields are ignored so that newer hubs can add fields; a missing or repeated known
/// field is an error.
///
/// Entries written before issue 13 carry `ts` (hub commit time, **ms**) instead of `tsus`, and a
/// `sum` over `ctx`, `ver`, `op` and `body` only (``Checksum/entry(id:version:op:body:)``). The
/// field name says the unit: an entry with `ts` decodes to `ts × 1000` µs and is checked with
/// the old checksum; one with `tsus` is checked with the new one; one with both is refused
/// (``EntryError/Kind/duplicateField``), one with neither lacks `tsus`. Renaming `ts` to `tsus`
/// therefore fails the checksum, and no value is ever read in the wrong unit.
///
/// A `batch` entry (``ContextOp/batch``) carries a region's share of a batch write in its body
/// (``BatchEntryCodec``): its operations decode into ``ContextUpdate/operations``, and a replica
/// applies them in one transaction. A replica from before batches refuses the entry
/// (``EntryError/Kind/unknownOp``) and dead-letters it.
///
/// An entry that re-sends a version already published (a republish, a dead-letter replay)
/// carries `replay` = `1` after `sum` (``ContextUpdate/replay``), so a spoke does not count its
/// original commit time as replication lag. The marker is outside the checksum: a spoke from
/// before the marker ignores it as an unknown field and still verifies the entry, and all it
/// changes is which metric counts the entry. Any other value is refused
/// (``EntryError/Kind/badMarker``).
public enum StreamEntryCodec {
    /// Field names, in the order the hub writes them.
    public enum Field {
        public static let ctx = "ctx"
        public static let ver = "ver"
        public static let op = "op"
        public static let body = "body"
        /// The hub's commit time in ms: only in entries written before issue 13 (still decoded).
        public static let ts = "ts"
        /// The hub's commit time in µs: what the hub writes.
        public static let tsus = "tsus"
        public static let sum = "sum"
        /// `1` on a re-sent entry (a republish or replay); absent otherwise.
        public static let replay = "replay"
        /// Every known field, by slot; the hub writes all but `ts` (and `replay` only on re-sent entries).
        static let all = [ctx, ver, op, body, ts, tsus, sum, replay]
    }

    /// What follows the seq in an entry id.
    public static let entryIDSuffix: StaticString = "-0"

    /// The stream entry id for a region sequence number.
    public static func entryID(seq: UInt64) -> String { "\(seq)\(entryIDSuffix)" }

    /// Parses `<seq>-0` with `1 ≤ seq ≤ Int64.max` (``EntryIDRule/seq(of:)``); returns `nil` for
    /// anything else (including ids made by `XADD *` within one millisecond).
    public static func seq(fromEntryID id: String) -> UInt64? {
        try? EntryIDRule.seq(of: id)
    }

    /// The slot of a known field name (its index in ``Field/all``), without comparing against
    /// every name.
    static func slot(of name: String) -> Int? {
        switch name {
        case Field.ctx: return 0
        case Field.ver: return 1
        case Field.op: return 2
        case Field.body: return 3
        case Field.ts: return 4
        case Field.tsus: return 5
        case Field.sum: return 6
        case Field.replay: return 7
        default: return nil
        }
    }

    /// A decimal integer (optional leading '-'), parsed straight from bytes; `nil` for anything
    /// else, as `Int64(String)` would.
    static func integer(_ bytes: [UInt8]) -> Int64? {
        guard !bytes.isEmpty, bytes.count <= 20 else { return nil }
        var index = 0
        var negative = false
        if bytes[0] == UInt8(ascii: "-") || bytes[0] == UInt8(ascii: "+") {
            negative = bytes[0] == UInt8(ascii: "-")
            index = 1
            guard bytes.count > 1 else { return nil }
        }
        var value: Int64 = 0
        while index < bytes.count {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = negative ? times.subtractingReportingOverflow(Int64(digit)) : times.addingReportingOverflow(Int64(digit))
            guard !o1, !o2 else { return nil }
            value = next
            index += 1
        }
        return value
    }

    static func op(_ bytes: [UInt8]) -> ContextOp? {
        switch bytes {
        case [0x70, 0x75, 0x74]: return .put  // put
        case [0x64, 0x65, 0x6C]: return .del  // del
        case [0x73, 0x6E, 0x61, 0x70]: return .snap  // snap
        case [0x62, 0x61, 0x74, 0x63, 0x68]: return .batch  // batch
        default: return nil
        }
    }

    /// How many fields ``encode(_:into:)`` writes for an entry that is not a replay.
    public static let fieldCount = 6

    /// How many fields ``encode(_:into:)`` writes for `update`.
    public static func fieldCount(of update: ContextUpdate) -> Int { update.replay ? fieldCount + 1 : fieldCount }

    /// Writes the fields of `update`, in order, into `sink`: the one definition of the wire form.
    /// `sum` is the entry's ``sum(of:)`` when the caller already has it (the publisher sends one
    /// batch's entry to each of its regions: the checksum of its body is the same in each).
    public static func encode<Sink: StreamFieldSink>(_ update: ContextUpdate, sum: String? = nil, into sink: inout Sink) {
        sink.field(Field.ctx, text: update.id.value)
        sink.field(Field.ver, integer: update.version)
        sink.field(Field.op, text: update.op.rawValue)
        sink.field(Field.body, bytes: update.body)
        sink.field(Field.tsus, integer: update.hubTimeUs)
        sink.field(Field.sum, text: sum ?? self.sum(of: update))
        if update.replay { sink.field(Field.replay, text: "1") }
    }

    /// The `sum` field of `update`: it covers `ctx`, `ver`, `op`, `body` and `tsus`, not the seq,
    /// so the entries of one write in several regions share it.
    public static func sum(of update: ContextUpdate) -> String {
        Checksum.entry(id: update.id, version: update.version, op: update.op, body: update.body, hubTimeUs: update.hubTimeUs)
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
        let seq = try EntryIDRule.seq(of: entryID)
        // Eight known fields: a fixed slot array beats a dictionary on this hot path.
        var slots: [[UInt8]?] = [nil, nil, nil, nil, nil, nil, nil, nil]
        for (name, value) in fields {
            guard let slot = Self.slot(of: name) else { continue }
            guard slots[slot] == nil else {
                throw EntryError(.duplicateField, field: name, detail: "field '\(name)' appears more than once")
            }
            slots[slot] = value
        }
        func required(_ slot: Int) throws(EntryError) -> [UInt8] {
            guard let value = slots[slot] else {
                let name = Field.all[slot]
                throw EntryError(.missingField, field: name, detail: "field '\(name)' is missing")
            }
            return value
        }
        let ctxBytes = try required(0)
        let id: ContextID
        do { id = try ContextID(String(decoding: ctxBytes, as: UTF8.self)) } catch {
            throw EntryError(.badContextID, field: Field.ctx, detail: error.description)
        }
        let verBytes = try required(1)
        guard let version = Self.integer(verBytes), version > 0 else {
            let text = String(decoding: verBytes, as: UTF8.self)
            throw EntryError(.badVersion, field: Field.ver, detail: "version '\(text.prefix(40))' is not a positive integer")
        }
        let opBytes = try required(2)
        guard let op = Self.op(opBytes) else {
            let text = String(decoding: opBytes, as: UTF8.self)
            throw EntryError(.unknownOp, field: Field.op, detail: "op '\(text.prefix(40))' is not 'put', 'del', 'snap' or 'batch'")
        }
        let hubTimeUs: Int64
        let micros: Bool
        switch (slots[4], slots[5]) {
        case (.some, .some):
            throw EntryError(.duplicateField, field: Field.tsus, detail: "fields 'ts' (ms) and 'tsus' (µs) both carry the hub's time; an entry has one")
        case (.none, .some(let bytes)):
            guard let us = Self.integer(bytes), us >= 0 else {
                let text = String(decoding: bytes, as: UTF8.self)
                throw EntryError(.badTimestamp, field: Field.tsus, detail: "timestamp '\(text.prefix(40))' is not a non-negative integer")
            }
            hubTimeUs = us
            micros = true
        case (.some(let bytes), .none):
            guard let ms = Self.integer(bytes), ms >= 0, ms <= Int64.max / 1000 else {
                let text = String(decoding: bytes, as: UTF8.self)
                throw EntryError(.badTimestamp, field: Field.ts, detail: "timestamp '\(text.prefix(40))' is not a non-negative integer of milliseconds")
            }
            hubTimeUs = ms * 1000
            micros = false
        case (.none, .none):
            throw EntryError(.missingField, field: Field.tsus, detail: "field 'tsus' (or, in an entry written before issue 13, 'ts') is missing")
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
        case .batch:
            break  // its operations are checked once the checksum holds
        }
        let sumBytes = try required(6)
        let expected =
            micros
            ? Checksum.entryValue(id: id, version: version, op: op, body: body, hubTimeUs: hubTimeUs)
            : Checksum.entryValue(id: id, version: version, op: op, body: body)
        guard Checksum.parseHex16(sumBytes) == expected else {
            let sum = String(decoding: sumBytes, as: UTF8.self)
            throw EntryError(
                .checksumMismatch, field: Field.sum,
                detail: "checksum '\(sum.prefix(40))' does not match the entry (expected \(Checksum.hex16(expected)))")
        }
        var replay = false
        if let marker = slots[7] {
            guard marker == [UInt8(ascii: "1")] else {
                let text = String(decoding: marker, as: UTF8.self)
                throw EntryError(.badMarker, field: Field.replay, detail: "replay marker '\(text.prefix(40))' is not '1'")
            }
            replay = true
        }
        var operations: [ContextUpdate] = []
        if op == .batch {
            operations = try BatchEntryCodec.decode(
                body, entryID: id, entryVersion: version, seq: seq, hubTimeUs: hubTimeUs, replay: replay, rules: rules)
        }
        return ContextUpdate(seq: seq, id: id, version: version, op: op, body: body, hubTimeUs: hubTimeUs, replay: replay, operations: operations)
    }
}

/// Receives the fields of an encoded entry; lets the publisher write them straight into its
/// pipeline buffer without intermediate arrays.
public protocol StreamFieldSink {
    mutating func field(_ name: String, text: String)
    mutating func field(_ name: String, bytes: [UInt8])
    mutating func field(_ name: String, integer: Int64)
}
