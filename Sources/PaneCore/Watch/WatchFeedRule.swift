/// The pure rules of a change feed (the watch route and ``PaneReader`` share them through
/// `PaneStore.ChangeFeed`).
public enum WatchFeedRule {
    /// Whether a deleted context (a tombstone or a removed row) changed at `change` is sent.
    ///
    /// A full transfer sends live contexts only: a deletion counted in at or before
    /// `transferFrom` (the replica's change counter when the transfer began) happened before the
    /// watcher could have seen a `put` for that context, so it is left out. Deletions after it
    /// are sent, since the transfer may already have sent the context. Outside a full transfer
    /// (`transferFrom` nil), every deletion is sent.
    public static func sendsDeletion(change: Int64, transferFrom: Int64?) -> Bool {
        guard let transferFrom else { return true }
        return change > transferFrom
    }

    /// Whether a watcher whose last write has been pending `pendingMs` is cut off: a reader that
    /// does not read holds a connection slot and the server's buffers, so it is closed after
    /// `limitMs`; it reconnects with `Last-Event-ID` and resumes.
    public static func cutsOff(pendingMs: Int64, limitMs: Int64) -> Bool {
        pendingMs >= limitMs
    }
}
