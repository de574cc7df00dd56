import PaneCore

/// A watcher's walk along a replica's change log: the one place that turns the log into
/// ``WatchEvent``s, for the spoke's `GET /v1/watch` and for `PaneReader.changes(after:)`.
///
/// It starts with ``WatchStart/decide(_:log:)``: from nothing (a full transfer), after a position,
/// or with a `reset` and a full transfer. A full transfer reads the live rows of `contexts` in id
/// order, in pages (the change log keeps only the newest changes), then goes on along the log
/// from the counter it started at: a context that changes during the transfer appears again
/// later, and one deleted or removed then gets its delete
/// (``WatchFeedRule/sendsDeletion(change:transferFrom:)``), so pages read from different
/// snapshots of the file never lose a change. The transfer's events carry the position `0`: a
/// watcher cut off during it starts again (a `reset` once the log no longer starts at 0). Then
/// `synced`, then live events; ``position`` is where the feed has caught up to. Should the log's
/// head be trimmed past a feed's position (a watcher that fell more than
/// ``ChangeLogTable/kept`` changes behind), the feed sends a `reset` and a new full transfer.
public struct ChangeFeed: Sendable {
    public let reader: ReplicaReader
    public let prefix: String
    /// Rows read per page.
    public let pageSize: Int
    private var cursor: Int64
    private var transferFrom: Int64?
    /// Non-nil while a full transfer reads `contexts`: the last id it sent ("" before the first).
    private var scanAfter: String?
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
            cursor = log.change
            transferFrom = log.change
            scanAfter = ""
        case .resume(let after):
            cursor = after
            transferFrom = nil
        case .reset(let reason):
            cursor = log.change
            transferFrom = log.change
            scanAfter = ""
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
        if let after = scanAfter {
            let page = try reader.liveRows(prefix: prefix, afterID: after, limit: pageSize)
            watermark = page.watermark
            let during = WatchPosition(file: page.log.file, change: 0)
            for row in page.rows { events.append(.put(id: row.id, version: row.version, body: row.body, position: during)) }
            if page.full, let last = page.rows.last {
                scanAfter = last.id
                return events
            }
            // The rows are sent: on along the log from the counter the transfer started at.
            scanAfter = nil
        }
        let page = try reader.changes(prefix: prefix, after: cursor, limit: pageSize)
        watermark = page.watermark
        let file = page.log.file
        if cursor < page.log.floor {
            // The log no longer holds every change after the feed's position: start over.
            let reason = "the replica's change log was trimmed past this watch's position (at \(cursor); it starts after \(page.log.floor))"
            events.append(.reset(reason: reason))
            cursor = page.log.change
            transferFrom = page.log.change
            scanAfter = ""
            announcedSync = false
            return events
        }
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
