/// Where a watch (or a ``PaneReader`` change sequence) starts: from the beginning with a full
/// transfer, or after a position it was given, or with a `reset` and a full transfer when the
/// replica cannot tell what changed after that position. Never a silent skip.
public enum WatchStart: Sendable, Equatable {
    /// No position: every live context, then live changes.
    case fresh
    /// Every context changed after `change` (its latest state), then live changes.
    case resume(after: Int64)
    /// The position cannot be resumed: a `reset` event saying `reason`, then a full transfer.
    case reset(reason: String)

    /// The replica file's change log as the decision needs it.
    public struct Log: Sendable, Equatable {
        /// The file's identity (hex, as in ``WatchPosition/file``).
        public var file: String
        /// The last change counted in the file.
        public var change: Int64
        /// Positions below this can no longer be resumed: the change log, or the log of removed
        /// rows, was trimmed up to it.
        public var floor: Int64

        public init(file: String, change: Int64, floor: Int64) {
            self.file = file
            self.change = change
            self.floor = floor
        }
    }

    /// Decides how a watch given `position` (nil: none) starts on a replica whose log is `log`.
    public static func decide(_ position: WatchPosition?, log: Log) -> WatchStart {
        guard let position else { return .fresh }
        if position.file != log.file {
            return .reset(
                reason: "the position \(position) is from another replica file (this one is \(log.file)): "
                    + "another replica, or this replica's file was rebuilt")
        }
        if position.change > log.change {
            return .reset(
                reason: "the position \(position) is ahead of this replica's change log (at \(log.change)): the file was restored from an older copy")
        }
        if position.change < log.floor {
            return .reset(
                reason: "the position \(position) is older than what this replica can still tell "
                    + "(its change log starts after \(log.floor))")
        }
        return .resume(after: position.change)
    }
}
