/// What a stream entry does: a new body, a versioned tombstone, (``snap``) the announcement
/// of a resync snapshot, whose body is a ``SnapshotAnnouncement`` in JSON, or (``batch``) a
/// region's share of a batch write, whose body lists its operations (``BatchEntryCodec``).
public enum ContextOp: String, Sendable, Hashable, CaseIterable {
    case put
    case del
    case snap
    case batch
}

/// One change to one context, as published to a region stream.
public struct ContextUpdate: Sendable, Hashable {
    /// The region sequence number; the stream entry id is `<seq>-0`.
    public var seq: UInt64
    public var id: ContextID
    /// The context's version after this change; versions start at 1 and only grow.
    public var version: Int64
    public var op: ContextOp
    /// The JSON body for `put`; empty for `del`.
    public var body: [UInt8]
    /// The hub's commit time, in microseconds since the Unix epoch. Entries written before
    /// issue 13 carried milliseconds (`ts`); they decode to that time times 1000.
    public var hubTimeUs: Int64
    /// The entry re-sends a version already published (`POST …/republish`, `pane admin dlq
    /// replay`): its `hubTimeUs` is the original commit time, so a spoke counts it apart and
    /// does not record it as replication lag (the entry's `replay` field).
    public var replay: Bool
    /// The operations of a ``ContextOp/batch`` entry, decoded (each a `put` or `del` with this
    /// entry's seq and time), applied together in one transaction; empty for other entries.
    public var operations: [ContextUpdate]

    /// ``hubTimeUs`` in whole milliseconds (rounded down), the unit of the stores' time columns.
    public var hubTimeMs: Int64 { hubTimeUs / 1000 }

    public init(
        seq: UInt64, id: ContextID, version: Int64, op: ContextOp, body: [UInt8], hubTimeUs: Int64, replay: Bool = false,
        operations: [ContextUpdate] = []
    ) {
        self.seq = seq
        self.id = id
        self.version = version
        self.op = op
        self.body = body
        self.hubTimeUs = hubTimeUs
        self.replay = replay
        self.operations = operations
    }
}
