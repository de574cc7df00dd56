import PaneCore

/// One row of the change log: a context as it is now (or as it was when a snapshot removed
/// it), and the change number it last took.
public struct ChangeRow: Sendable, Equatable {
    public let id: String
    public let version: Int64
    /// A tombstone, or a row a snapshot removed.
    public let deleted: Bool
    /// The JSON body; empty for deletions.
    public let body: [UInt8]
    public let change: Int64
}

/// A page of the change log after a position, with the file's log and watermark as of the same
/// read transaction.
public struct ChangePage: Sendable {
    public let rows: [ChangeRow]
    public let log: WatchStart.Log
    public let watermark: UInt64
    /// More rows may follow the last one: read again after it before calling the feed caught up.
    public let full: Bool
}
