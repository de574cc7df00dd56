import PaneCore

/// Where a replica file stands.
public struct ReaderPosition: Sendable, Equatable, CustomStringConvertible {
    /// Every region seq up to this one is applied (the spoke's `Pane-Replica-Seq` watermark).
    public let watermark: UInt64
    /// The file's change position: ``PaneReader/changes(prefix:after:)`` after it gives only
    /// what changes from now on.
    public let change: WatchPosition

    public var description: String { "watermark \(watermark), change \(change)" }
}
