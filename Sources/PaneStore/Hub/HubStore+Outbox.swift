import Foundation
import GRDB
import GRDBSQLite
import PaneCore

extension HubStore {
    /// Outbox rows were written without passing through the in-memory tail (a replay, a
    /// snapshot announcement): the publisher reads `region`'s outbox from the file next time.
    func outboxWrittenDirectly(_ region: Region) {
        fresh.withLock { $0.invalidate(region) }
    }

    /// The updates of `region` right after `after`, up to `limit`, from memory: `[]` when there
    /// is none, `nil` when memory cannot tell (rows written past the tail, the tail overflowed,
    /// or it does not start at `after + 1`): then read ``outbox(region:after:limit:)``.
    public func takeFresh(region: Region, after: UInt64, limit: Int) -> [ContextUpdate]? {
        fresh.withLock { $0.take(region, after: after, limit: limit) }
    }

    /// Up to `limit` unpublished updates of `region` with seq above `after`, in `seq` order, and
    /// the region's last allocated seq, read in one transaction. The in-memory tail of `region`
    /// is trusted again from here on: rows written past it from now on mark it again.
    ///
    /// `outbox_writes` has one row per write for all its regions, in commit order, and a
    /// region's seqs rise with it: a read resumes after the last row it stepped over for the
    /// region (``outboxCursors``) instead of from the start.
    public func outbox(region: Region, after: UInt64 = 0, limit: Int) throws -> (updates: [ContextUpdate], lastSeq: UInt64) {
        fresh.withLock { $0.revalidate(region) }
        // Rows confirmed in memory are skipped even before they are persisted.
        let after = max(after, confirmed.withLock { $0[region] ?? 0 })
        let resume = outboxCursors.withLock { cursors -> Int64 in
            guard let cursor = cursors[region], cursor.seq <= after else { return 0 }
            return cursor.wid
        }
        let (updates, lastSeen, lastSeq) = try pool.read { db -> ([ContextUpdate], (seq: UInt64, wid: Int64)?, Int64) in
            let published = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT published_seq FROM regions WHERE name = ?"), arguments: [region.name]) ?? 0
            let skipUpTo = max(Int64(bitPattern: after), published)
            let sql = """
                SELECT wid, seqs, id, version, op, body, ts_us, replay FROM outbox_writes
                WHERE wid > ? AND instr(seqs, ?) > 0 ORDER BY wid
                """
            // Read through the raw SQLite API: no `Row` per row, and the body is copied once,
            // straight into the update's bytes.
            let statement = try db.cachedStatement(sql: sql).sqliteStatement
            sqlite3_reset(statement)
            defer { sqlite3_reset(statement) }
            sqlite3_bind_int64(statement, 1, resume)
            sqlite3_bind_text(statement, 2, RegionSeqs.pattern(region), -1, RawSQLite.transient)
            var updates: [ContextUpdate] = []
            updates.reserveCapacity(min(limit, 4096))
            var lastSeen: (seq: UInt64, wid: Int64)?
            while updates.count < limit {
                let rc = sqlite3_step(statement)
                if rc == SQLITE_DONE { break }
                guard rc == SQLITE_ROW else { throw RawSQLite.error(rc, db, sql: sql) }
                guard let seq = RegionSeqs.seq(of: region, in: RawSQLite.text(statement, 1)) else { continue }
                lastSeen = (UInt64(max(0, seq)), sqlite3_column_int64(statement, 0))
                if seq <= skipUpTo { continue }
                let id = try ContextID(RawSQLite.text(statement, 2))
                let op = ContextOp(rawValue: RawSQLite.text(statement, 4)) ?? .put
                let body = RawSQLite.blob(statement, 5)
                updates.append(
                    ContextUpdate(
                        seq: UInt64(seq), id: id, version: sqlite3_column_int64(statement, 3), op: op, body: body,
                        hubTimeUs: sqlite3_column_int64(statement, 6), replay: sqlite3_column_int64(statement, 7) != 0))
            }
            let lastSeq = try Int64.fetchOne(db.cachedStatement(sql: Self.lastSeqSQL), arguments: [region.name]) ?? 0
            return (updates, lastSeen, lastSeq)
        }
        if let lastSeen { outboxCursors.withLock { $0[region] = lastSeen } }
        return (updates, UInt64(max(0, lastSeq)))
    }

    /// Records that every update of `region` up to `seq` is in its stream.
    public func markPublished(region: Region, upTo seq: UInt64) {
        markPublished([(region, seq)])
    }

    /// Records several regions' published seqs, in memory: ``persistPublished()`` writes them
    /// to the file a few times a second. A hub that dies before that publishes the unmarked
    /// rows again on its next start, and recognises each as its own (`Publisher`), so marks
    /// need not cost a write transaction per publisher round.
    public func markPublished(_ marks: [(Region, UInt64)]) {
        confirmed.withLock { confirmed in
            for (region, seq) in marks where seq > confirmed[region, default: 0] { confirmed[region] = seq }
        }
    }

    /// Writes the published seqs confirmed so far to `regions.published_seq` and deletes the
    /// outbox rows every region they name has published, in one transaction. Returns the rows
    /// deleted.
    ///
    /// With ``HubDurability/full`` this transaction alone commits without a WAL sync
    /// (`synchronous` NORMAL, set back to FULL before the writer runs anything else): the next
    /// write's commit syncs it along with its own frames. Losing it in a power cut only re-sends
    /// rows the publisher recognises as its own, and the writer queue (every write waiting for a
    /// group commit) and the publisher no longer wait for an `fdatasync` five times a second.
    @discardableResult
    public func persistPublished() throws -> Int {
        let marks = confirmed.withLock { $0 }
        guard persisted.withLock({ $0 != marks }) else { return 0 }
        let configured = Set(regions.map(\.name))
        let deleted = try pool.writeWithoutTransaction { db in
            guard durability == .full else { return try persistTransaction(db, marks, configured: configured) }
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            let outcome = Result { try persistTransaction(db, marks, configured: configured) }
            // Every later commit on this connection syncs again; if this fails, so does the call.
            try db.execute(sql: "PRAGMA synchronous = FULL")
            return try outcome.get()
        }
        persisted.withLock { $0 = marks }
        return deleted
    }

    private func persistTransaction(_ db: Database, _ marks: [Region: UInt64], configured: Set<String>) throws -> Int {
        var deleted = 0
        try db.inTransaction {
            let update = try db.cachedStatement(sql: "UPDATE regions SET published_seq = max(published_seq, ?) WHERE name = ?")
            for (region, seq) in marks {
                try update.execute(arguments: [Int64(seq), region.name])
            }
            var published: [String: Int64] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, published_seq FROM regions") { published[row[0]] = row[1] }
            // Rows go in commit order, up to the first one a configured region has not published
            // yet: the scan reads only the rows it deletes, and one more. A region no longer
            // configured holds nothing back.
            var upTo: Int64?
            let rows = try Row.fetchCursor(db, sql: "SELECT wid, seqs FROM outbox_writes ORDER BY wid")
            while let row = try rows.next() {
                let done = RegionSeqs(text: row[1]).entries.allSatisfy { entry in
                    !configured.contains(entry.region) || entry.seq <= published[entry.region, default: 0]
                }
                guard done else { break }
                upTo = row[0]
            }
            if let upTo {
                try db.execute(sql: "DELETE FROM outbox_writes WHERE wid <= ?", arguments: [upTo])
                deleted = db.changesCount
            }
            return .commit
        }
        return deleted
    }

    /// Updates not yet published, per region (marks in memory included).
    public func outboxDepth() throws -> [Region: Int] {
        let marks = confirmed.withLock { $0 }
        return try pool.read { db in
            var result: [Region: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, last_seq, published_seq FROM regions") {
                guard let region = try? Region(row["name"] as String) else { continue }
                let published = max(row["published_seq"] as Int64, Int64(marks[region] ?? 0))
                result[region] = Int(row["last_seq"] as Int64 - published)
            }
            return result
        }
    }

    /// The last seq of `region` confirmed in its stream (marks in memory included).
    public func publishedSeq(region: Region) throws -> UInt64 {
        let mark = confirmed.withLock { $0[region] ?? 0 }
        let stored = try pool.read { db in
            UInt64(max(0, try Int64.fetchOne(db, sql: "SELECT published_seq FROM regions WHERE name = ?", arguments: [region.name]) ?? 0))
        }
        return max(mark, stored)
    }

    /// The last allocated `seq` of `region`.
    public func lastSeq(region: Region) throws -> UInt64 {
        try pool.read { db in
            UInt64(try Int64.fetchOne(db.cachedStatement(sql: Self.lastSeqSQL), arguments: [region.name]) ?? 0)
        }
    }
}
