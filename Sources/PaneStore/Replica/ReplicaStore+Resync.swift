import Foundation
import GRDB
import GRDBSQLite
import PaneCore

/// The replica's side of resync: what the gap detector observes, the one resync in flight
/// (shared by the replica's workers through the file), snapshot chunks applied under the apply
/// rule, and the digest anti-entropy compares.
extension ReplicaStore {
    /// The resync this replica waits for or applies.
    public struct ResyncInFlight: Sendable, Equatable {
        public var requestID: String
        public var reason: String
        public var requestedAtMs: Int64
        public var bootstrapping: Bool
        public var epoch: Int64
        public var chunksDone: Int
        public var chunks: Int
    }

    /// What the gap detector needs from the file, read in one transaction.
    public struct ResyncView: Sendable {
        public var ranges: SeqRanges
        public var empty: Bool
        public var stale: [GapDetector.StaleMark]
        public var inFlight: ResyncInFlight?
        public var resyncsDone: [String]
        /// The hub id of the history this replica holds; `nil` before its first contact.
        public var hubID: String?
    }

    public func resyncView() throws -> ResyncView {
        try pool.read { db in
            let ranges = try Self.ranges(db)
            let empty = try Bool.fetchOne(db, sql: "SELECT NOT EXISTS(SELECT 1 FROM contexts)") ?? true
            let stale = try Row.fetchAll(db, sql: "SELECT id, entry_id FROM stale").map { row in
                GapDetector.StaleMark(seq: StreamEntryCodec.seq(fromEntryID: row["entry_id"]) ?? 0, id: row["id"])
            }
            let inFlight = try Self.inFlight(db)
            let done = try String.fetchAll(db, sql: "SELECT request_ids FROM resync_log ORDER BY epoch DESC LIMIT 10")
                .flatMap { $0.split(separator: ",").map(String.init) }
            let hubID = try String.fetchOne(db, sql: "SELECT value FROM replica_meta WHERE name = 'hub_id'")
            return ResyncView(ranges: ranges, empty: empty, stale: stale, inFlight: inFlight, resyncsDone: done, hubID: hubID)
        }
    }

    /// The applied ranges as stored, read through the raw API (every apply transaction reads
    /// them; usually one row).
    static func ranges(_ db: Database) throws -> SeqRanges {
        let sql = "SELECT lo, hi FROM applied_ranges"
        let statement = try db.cachedStatement(sql: sql).sqliteStatement
        defer { sqlite3_reset(statement) }
        var ranges: [ClosedRange<UInt64>] = []
        try RawSQLite.forEachRow(statement, db, sql: sql) {
            let lo = UInt64(max(0, sqlite3_column_int64(statement, 0)))
            ranges.append(lo...max(lo, UInt64(max(0, sqlite3_column_int64(statement, 1)))))
            return true
        }
        return SeqRanges(ranges)
    }

    static func inFlight(_ db: Database) throws -> ResyncInFlight? {
        try Row.fetchOne(db, sql: "SELECT * FROM resync_state WHERE id = 1").map { row in
            ResyncInFlight(
                requestID: row["request_id"], reason: row["reason"], requestedAtMs: row["requested_at"], bootstrapping: row["bootstrapping"],
                epoch: row["epoch"], chunksDone: row["chunks_done"], chunks: row["chunks"])
        }
    }

    /// Records the hub id of the history this replica holds, unless one is recorded already: a
    /// replica's first contact with its hub, or its first since it learnt to record it.
    public func adoptHubID(_ hubID: String) throws {
        try pool.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO replica_meta(name, value) VALUES ('hub_id', ?)", arguments: [hubID])
        }
    }

    /// Records a resync request as this replica's one in flight. Returns `false` when another
    /// worker already has one younger than `timeoutMs`: only one asks.
    ///
    /// With `newHubID` (a `new-history` resync) the request replaces any in flight that is not
    /// itself one for that history, and the replica records the new hub id in the same
    /// transaction: the request survives restarts in `resync_state`, and is sent again after
    /// `timeoutMs` until a snapshot answers it.
    public func beginResync(
        requestID: String, reason: String, bootstrapping: Bool, nowMs: Int64, timeoutMs: Int64, newHubID: String? = nil
    ) throws -> Bool {
        try pool.write { db in
            let current = try Self.inFlight(db)
            if let current, nowMs - current.requestedAtMs < timeoutMs {
                let stands = newHubID == nil || current.reason == GapDetector.Reason.newHistory.rawValue
                if stands { return false }
            }
            // A replica that has not finished its bootstrap is still bootstrapping, whatever the new request's reason.
            let stillBootstrapping = bootstrapping || current?.bootstrapping == true
            if let newHubID {
                try db.execute(sql: "INSERT OR REPLACE INTO replica_meta(name, value) VALUES ('hub_id', ?)", arguments: [newHubID])
            }
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO resync_state(id, request_id, reason, requested_at, bootstrapping, epoch, chunks_done, chunks)
                    VALUES (1, ?, ?, ?, ?, 0, 0, 0)
                    """,
                arguments: [requestID, reason, nowMs, stillBootstrapping])
            try Self.recordRequest(db, requestID: requestID, nowMs: nowMs)
            return true
        }
    }

    /// Records `requestID` as a resync this replica asked for (the last 100 are kept).
    public func recordResyncRequest(_ requestID: String, nowMs: Int64) throws {
        try pool.write { db in try Self.recordRequest(db, requestID: requestID, nowMs: nowMs) }
    }

    static func recordRequest(_ db: Database, requestID: String, nowMs: Int64) throws {
        try db.execute(sql: "INSERT OR IGNORE INTO resync_requests(request_id, requested_at) VALUES (?, ?)", arguments: [requestID, nowMs])
        try db.execute(
            sql: "DELETE FROM resync_requests WHERE request_id NOT IN (SELECT request_id FROM resync_requests ORDER BY requested_at DESC LIMIT 100)")
    }

    /// The resync requests this replica asked for (the last 100): what a snapshot must answer.
    public func resyncRequestIDs() throws -> Set<String> {
        try pool.read { db in Set(try String.fetchAll(db, sql: "SELECT request_id FROM resync_requests")) }
    }

    /// Forgets the request in flight (the snapshot it asked for expired, for example), so the
    /// gap detector asks again. A bootstrapping replica stays bootstrapping: the rows of the
    /// snapshot it gave up are only part of the region, so it must not report ready until a
    /// full snapshot finishes (the row stays, expired, and the next request keeps the flag).
    public func abandonResync() throws {
        try pool.write { db in
            try db.execute(sql: "DELETE FROM resync_state WHERE bootstrapping = 0")
            try db.execute(sql: "UPDATE resync_state SET requested_at = 0, epoch = 0, chunks_done = 0, chunks = 0")
        }
    }

    /// Chunks of snapshot `epoch` already applied: where a restarted worker resumes.
    public func snapshotChunksDone(epoch: Int64) throws -> Int {
        try pool.read { db in
            try Int.fetchOne(db, sql: "SELECT chunks_done FROM resync_state WHERE id = 1 AND epoch = ?", arguments: [epoch]) ?? 0
        }
    }

    /// Upserts snapshot rows, `rows` of them in one statement. A stored row that an entry after
    /// the snapshot's seq (?1) wrote keeps the apply rule (only a greater version replaces it). A
    /// stored row written at or below that seq is replaced by the snapshot's when they differ,
    /// whatever its version: the hub's state at that seq is the truth, so a damaged or tampered
    /// row is repaired, and a healthy one is left exactly as it was. The row is stamped with the
    /// snapshot's epoch (?2) either way. Row r binds ``snapshotRowParameters`` parameters from
    /// ``snapshotParameter(row:column:)`` on: id, version, deleted, body, hub_ts, applied_ts, seq,
    /// and the change number it takes when it changes (the watch sees the repair).
    ///
    /// Several rows per statement: one step writes them all, so a chunk pays the statement's own
    /// costs (reset, bind of the shared values, opening the table's and indexes' cursors) once
    /// per ``snapshotRowsPerStatement`` rows instead of once per row (docs/benchmarks.md, "the
    /// bootstrap's apply, sixth stop"). The rows of one statement are written in order, as
    /// separate statements would be: a later row with the same id meets the earlier one.
    static func snapshotUpsertSQL(rows: Int) -> String {
        let wins = """
            excluded.version > contexts.version OR (contexts.seq <= ?1 AND (excluded.version != contexts.version \
            OR excluded.deleted != contexts.deleted OR excluded.body != contexts.body))
            """
        // SQLite evaluates every SET expression against the row as it was, so the order is free.
        let columns = ["deleted", "body", "hub_ts", "applied_ts", "seq", "change", "version"]
            .map { "\($0) = CASE WHEN \(wins) THEN excluded.\($0) ELSE contexts.\($0) END" }
        let values = (0..<max(1, rows)).map { row in
            let p = { (column: Int32) in "?\(snapshotParameter(row: row, column: column))" }
            return "(\(p(1)), \(p(2)), \(p(3)), \(p(4)), \(p(5)), \(p(6)), \(p(7)), ?2, \(p(8)))"
        }
        return """
            INSERT INTO contexts(id, version, deleted, body, hub_ts, applied_ts, seq, synced_epoch, change)
            VALUES \(values.joined(separator: ", "))
            ON CONFLICT(id) DO UPDATE SET \(columns.joined(separator: ", ")), synced_epoch = excluded.synced_epoch
            """
    }

    /// Rows per snapshot upsert statement; a chunk's last rows (fewer) go one per statement.
    static let snapshotRowsPerStatement = 32
    static let snapshotUpsertManySQL = snapshotUpsertSQL(rows: snapshotRowsPerStatement)
    static let snapshotUpsertOneSQL = snapshotUpsertSQL(rows: 1)
    /// Parameters each row binds in ``snapshotUpsertSQL(rows:)``.
    static let snapshotRowParameters: Int32 = 8

    /// The parameter of `column` (1–8: ``bindRow`` order, then the change number) of row `row`
    /// in ``snapshotUpsertSQL(rows:)``; ?1 and ?2 are the snapshot's seq and epoch.
    static func snapshotParameter(row: Int, column: Int32) -> Int32 {
        2 + Int32(row) * snapshotRowParameters + column
    }

    /// Applies chunk `index` of a snapshot in one transaction, with its progress. When the
    /// transaction fails, rows go one by one and the ones that fail are marked stale, so one bad
    /// row cannot hold back a resync. Returns the rows that could not be applied.
    @discardableResult
    public func applySnapshotChunk(_ rows: [SnapshotRow], announcement: SnapshotAnnouncement, index: Int, requestID: String?) throws -> [(ContextID, String)] {
        do {
            try pool.write { db in
                try Self.upsert(db, rows, epoch: announcement.epoch, seq: announcement.seq)
                try Self.progress(db, announcement: announcement, chunksDone: index + 1, requestID: requestID)
            }
            return []
        } catch {
            var failed: [(ContextID, String)] = []
            for row in rows {
                do { try pool.write { db in try Self.upsert(db, [row], epoch: announcement.epoch, seq: announcement.seq) } } catch {
                    failed.append((row.id, "\(error)"))
                    try supersedeStale(id: row.id, version: row.version, reason: "resync could not apply it: \(error)", epoch: announcement.epoch)
                }
            }
            try pool.write { db in try Self.progress(db, announcement: announcement, chunksDone: index + 1, requestID: requestID) }
            return failed
        }
    }

    /// Binds through the raw SQLite API on GRDB's cached statement, as the apply path does: a
    /// bootstrap writes a million rows through here.
    /// Marks a row the snapshot could not write as stale, under the snapshot's epoch. A dead
    /// letter's mark it replaces is handled: the snapshot now stands for that update, so its seq
    /// is recorded as applied (the watermark does not stall on it) and the new mark keeps the
    /// context flagged until a version at or above the hub's reaches it.
    func supersedeStale(id: ContextID, version: Int64, reason: String, epoch: Int64) throws {
        try pool.write { db in
            if let previous = try String.fetchOne(db, sql: "SELECT entry_id FROM stale WHERE id = ?", arguments: [id.value]),
                let seq = StreamEntryCodec.seq(fromEntryID: previous)
            {
                try Self.record(db, seqs: [seq])
            }
            try db.execute(
                sql: """
                    INSERT INTO stale(id, version, reason, entry_id, marked_at) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET version = max(stale.version, excluded.version),
                        reason = excluded.reason, entry_id = excluded.entry_id, marked_at = excluded.marked_at
                    """,
                arguments: [id.value, version, String(reason.prefix(500)), "resync:\(epoch)", WallClock.nowMs()])
        }
    }

    private static func upsert(_ db: Database, _ rows: [SnapshotRow], epoch: Int64, seq: UInt64) throws {
        let now = WallClock.nowMs()
        let width = snapshotRowsPerStatement
        let (manySQL, oneSQL) = (snapshotUpsertManySQL, snapshotUpsertOneSQL)
        let many = try db.cachedStatement(sql: manySQL).sqliteStatement
        let one = try db.cachedStatement(sql: oneSQL).sqliteStatement
        let keep = try db.cachedStatement(sql: "UPDATE contexts SET synced_epoch = ? WHERE id = ?")
        let log = try db.cachedStatement(sql: ChangeLogTable.appendSQL).sqliteStatement
        var counter = try ChangeCounter(db)
        defer {
            sqlite3_reset(many)
            sqlite3_reset(one)
            sqlite3_reset(log)
        }
        /// Writes `rows[range]` (no ``SnapshotRow/bodyMissing`` among them) in order: full
        /// statements of `width` rows, then the rest one by one.
        func write(_ range: Range<Int>) throws {
            var start = range.lowerBound
            while start < range.upperBound {
                let count = range.upperBound - start >= width ? width : 1
                let (raw, sql) = count == width ? (many, manySQL) : (one, oneSQL)
                sqlite3_reset(raw)
                sqlite3_bind_int64(raw, 1, Int64(seq))
                sqlite3_bind_int64(raw, 2, epoch)
                let first = counter.next
                for slot in 0..<count {
                    let row = rows[start + slot]
                    Self.bindRow(
                        raw, id: row.id.value, version: row.version, deleted: row.deleted, body: row.body, hubTimeMs: row.hubTimeMs,
                        appliedMs: now, seq: row.seq, first: snapshotParameter(row: slot, column: 1))
                    // The update always runs (it stamps the epoch), so whether the row changed is
                    // not known here: every row takes a number, and the unchanged ones leave a gap.
                    sqlite3_bind_int64(raw, snapshotParameter(row: slot, column: 8), counter.next)
                    counter.used()
                }
                try RawSQLite.stepDone(raw, db, sql: sql)
                // Every row's number goes to the change log: a row that did not change keeps its
                // older number, so its new log row is superseded (skipped by reads) at once.
                for slot in 0..<count {
                    try ChangeLogTable.append(log, db, change: first + Int64(slot), id: rows[start + slot].id.value)
                }
                start += count
            }
        }
        var pending = 0
        for (index, row) in rows.enumerated() where row.bodyMissing {
            try write(pending..<index)
            try keep.execute(arguments: [epoch, row.id.value])
            pending = index + 1
        }
        try write(pending..<rows.count)
        try counter.save(db)
    }

    private static func progress(_ db: Database, announcement: SnapshotAnnouncement, chunksDone: Int, requestID: String?) throws {
        // The row may belong to a request this snapshot does not answer; keep its id then.
        try db.execute(
            sql: """
                INSERT INTO resync_state(id, request_id, reason, requested_at, bootstrapping, epoch, chunks_done, chunks)
                VALUES (1, ?, ?, ?, 0, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET epoch = excluded.epoch, chunks_done = excluded.chunks_done, chunks = excluded.chunks
                """,
            arguments: [requestID ?? "", announcement.reason, WallClock.nowMs(), announcement.epoch, chunksDone, announcement.chunks])
    }

    /// What finishing a snapshot did.
    public struct SnapshotFinish: Sendable {
        public var removed: Int
        public var healed: Int
        public var watermark: UInt64
    }

    /// Ends a snapshot in one transaction: removes the rows of its buckets that it lacks and that
    /// no entry after its seq wrote, heals the stale marks of its buckets, raises the watermark
    /// to its seq (a full snapshot) or records the healed dead letters' seqs (a partial one), and
    /// records the announcement entry's own seq.
    public func finishSnapshot(_ announcement: SnapshotAnnouncement, entrySeq: UInt64, rows: Int) throws -> SnapshotFinish {
        try pool.write { db in
            let epoch = announcement.epoch
            let covered = announcement.buckets.map(Set.init)
            func inScope(_ id: String) -> Bool { covered?.contains(ContextDigest.bucket(of: id)) ?? true }
            var removed = 0
            // Rows this snapshot could not write are marked stale with its epoch: they stay.
            let unconfirmed = "synced_epoch != ? AND seq <= ? AND id NOT IN (SELECT id FROM stale WHERE entry_id = ?)"
            let arguments: StatementArguments = [epoch, Int64(announcement.seq), "resync:\(epoch)"]
            // Each removed row goes to the change log's removals, so a watcher sees a delete.
            var counter = try ChangeCounter(db)
            let remember = try db.cachedStatement(sql: "INSERT OR REPLACE INTO removals(id, version, change) VALUES (?, ?, ?)")
            let delete = try db.cachedStatement(sql: "DELETE FROM contexts WHERE id = ?")
            for row in try Row.fetchAll(db, sql: "SELECT id, version FROM contexts WHERE \(unconfirmed)", arguments: arguments) {
                let id: String = row["id"]
                guard inScope(id) else { continue }
                try remember.execute(arguments: [id, row["version"] as Int64, counter.next])
                counter.used()
                try delete.execute(arguments: [id])
                removed += 1
            }
            try counter.save(db)
            if removed > 0 { try Self.trimRemovals(db, keep: Self.removalsKept) }
            var healedSeqs: [UInt64] = []
            for row in try Row.fetchAll(db, sql: "SELECT id, entry_id FROM stale WHERE entry_id != ?", arguments: ["resync:\(epoch)"]) {
                let id: String = row["id"]
                guard inScope(id) else { continue }
                try db.execute(sql: "DELETE FROM stale WHERE id = ?", arguments: [id])
                if let seq = StreamEntryCodec.seq(fromEntryID: row["entry_id"]) { healedSeqs.append(seq) }
            }
            let ranges = try Self.record(db, seqs: healedSeqs + [entrySeq], raiseTo: covered == nil ? announcement.seq : nil)
            try db.execute(
                sql: "INSERT OR REPLACE INTO resync_log(epoch, request_ids, reason, seq, rows, removed, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [
                    epoch, announcement.requestIDs.joined(separator: ","), announcement.reason, Int64(announcement.seq), rows, removed,
                    WallClock.nowMs(),
                ])
            try db.execute(sql: "DELETE FROM resync_log WHERE epoch NOT IN (SELECT epoch FROM resync_log ORDER BY epoch DESC LIMIT 50)")
            if let current = try Self.inFlight(db),
                announcement.requestIDs.contains(current.requestID) || covered == nil || current.epoch == epoch
            {
                try db.execute(sql: "DELETE FROM resync_state")
            }
            return SnapshotFinish(removed: removed, healed: healedSeqs.count, watermark: ranges.watermark)
        }
    }

    /// How many removed rows the change log remembers; a watch position older than the oldest
    /// one it forgot gets a `reset` (``WatchStart``).
    static let removalsKept = 100_000

    /// Forgets all but the newest `keep` removals and raises `removals_floor` to the newest
    /// change forgotten.
    static func trimRemovals(_ db: Database, keep: Int) throws {
        guard let cut = try Int64.fetchOne(db, sql: "SELECT change FROM removals ORDER BY change DESC LIMIT 1 OFFSET ?", arguments: [keep])
        else { return }
        try db.execute(sql: "DELETE FROM removals WHERE change <= ?", arguments: [cut])
        try db.execute(sql: "UPDATE replica_state SET value = max(value, ?) WHERE name = 'removals_floor'", arguments: [cut])
    }
}
