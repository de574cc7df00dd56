import PaneCore

/// A watcher's walk along a replica's change log: the one place that turns the log into
/// ``WatchEvent``s, for the spoke's `GET /v1/watch` and for `PaneReader.changes(after:)`.
///
/// It starts with ``WatchStart/decide(_:log:)``: from nothing (a full transfer), after a position,
/// or with a `reset` and a full transfer. A full transfer is the change log read from its
/// beginning with deletions left out (``WatchFeedRule/sendsDeletion(change:transferFrom:)``):
/// every live context appears once, at its latest state, and a context that changes during the
/// transfer appears again later, so pages read from different snapshots of the file never lose
/// a change. Then `synced`, then live events; ``position`` is where the feed has caught up to.
public struct ChangeFeed: Sendable {
    public let reader: ReplicaReader
    public let prefix: String
    /// Rows read per page.
    public let pageSize: Int
    private var cursor: Int64
    private var transferFrom: Int64?
    private var pending: [WatchEvent] = []
    private var announcedSync = false
    /// The position every change under the prefix has been delivered up to (nil before the
    /// first page).
    public private(set) var position: WatchPosition?
    /// The replica's watermark as of the last page read.
    public private(set) var watermark: UInt64 = 0

    /// Starts a feed after `position` (nil: from nothing). A position that cannot be resumed
    /// gives a ``WatchEvent/reset(reason:)`` first.
    public init(reader: ReplicaReader, prefix: String, after position: WatchPosition?, pageSize: Int = 256) throws {
        self.reader = reader
        self.prefix = prefix
        self.pageSize = max(1, pageSize)
        let (log, watermark) = try reader.changeLog()
        self.watermark = watermark
        switch WatchStart.decide(position, log: log) {
        case .fresh:
            cursor = -1
            transferFrom = log.change
        case .resume(let after):
            cursor = after
            transferFrom = nil
        case .reset(let reason):
            cursor = -1
            transferFrom = log.change
            pending = [.reset(reason: reason)]
        }
    }

    /// Whether the feed has sent its first `synced`.
    public var isSynced: Bool { announcedSync }

    /// The next events: a page of changes (and `synced` once the first catch-up ends), or an
    /// empty array when the feed has caught up with the file: wait for it to change, then call
    /// again.
    public mutating func next() throws -> [WatchEvent] {
        var events = pending
        pending = []
        let page = try reader.changes(prefix: prefix, after: cursor, limit: pageSize)
        watermark = page.watermark
        let file = page.log.file
        for row in page.rows {
            let at = WatchPosition(file: file, change: row.change)
            if row.deleted {
                if WatchFeedRule.sendsDeletion(change: row.change, transferFrom: transferFrom) {
                    events.append(.delete(id: row.id, version: row.version, position: at))
                }
            } else {
                events.append(.put(id: row.id, version: row.version, body: row.body, position: at))
            }
        }
        if let last = page.rows.last { cursor = last.change }
        if page.full {
            position = WatchPosition(file: file, change: cursor)
        } else {
            cursor = max(cursor, page.log.change)
            let caughtUp = WatchPosition(file: file, change: page.log.change)
            position = caughtUp
            transferFrom = nil
            if !announcedSync {
                announcedSync = true
                events.append(.synced(position: caughtUp))
            }
        }
        return events
    }
}
