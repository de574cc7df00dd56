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
    /// the region's last allocated seq: ``outbox(after:limit:)`` for one region.
    public func outbox(region: Region, after: UInt64 = 0, limit: Int) throws -> (updates: [ContextUpdate], lastSeq: UInt64) {
        let read = try outbox(after: [region: after], limit: limit)[region] ?? OutboxRead(updates: [], lastSeq: 0, complete: true)
        return (read.updates, read.lastSeq)
    }

    /// The unpublished updates of several regions, each above its own seq in `after`, in `seq`
    /// order, with each region's last allocated seq: one pass over `outbox_writes` in one
    /// transaction, whatever the number of regions. The in-memory tail of each region is
    /// trusted again from here on: rows written past it from now on mark it again.
    ///
    /// `outbox_writes` has one row per write for all its regions, in commit order, and a
    /// region's seqs rise with it. A row is read (its body copied, its id checked, its `seqs`
    /// parsed) once and shared by the updates of all its regions. The pass starts after the
    /// last row every asked region has stepped over (``outboxCursors``) and stops at the end of
    /// the table or once a region has `limit` updates: a region cut short there has all its
    /// updates up to that row, and ``OutboxRead/complete`` says whether more may follow.
    public func outbox(after: [Region: UInt64], limit: Int) throws -> [Region: OutboxRead] {
        let asked = regions.filter { after[$0] != nil } + after.keys.filter { !regions.contains($0) }
        guard !asked.isEmpty else { return [:] }
        fresh.withLock { tail in asked.forEach { tail.revalidate($0) } }
        // Rows confirmed in memory are skipped even before they are persisted.
        let marks = confirmed.withLock { $0 }
        let floors = asked.map { max(after[$0] ?? 0, marks[$0] ?? 0) }
        let resumes = outboxCursors.withLock { cursors in
            asked.indices.map { index -> (seq: UInt64, wid: Int64)? in
                guard let cursor = cursors[asked[index]], cursor.seq <= floors[index] else { return nil }
                return cursor
            }
        }
        outboxTableReads.add(1, ordering: .relaxed)
        let scan = try pool.read { db in
            try Self.scanOutbox(db, asked: asked, floors: floors, from: resumes.map { $0?.wid ?? 0 }.min() ?? 0, limit: limit)
        }
        if let lastWid = scan.lastWid {
            // Every row of an asked region up to `lastWid` was stepped over: the next read of it
            // starts there (with the seq of its last row, or what its cursor held, or 0 when it
            // has none at all).
            outboxCursors.withLock { cursors in
                for (index, region) in asked.enumerated() {
                    let seq = scan.lastSeen[index].map { UInt64(max(0, $0)) } ?? resumes[index]?.seq ?? 0
                    cursors[region] = (seq, lastWid)
                }
            }
        }
        var result: [Region: OutboxRead] = [:]
        for (index, region) in asked.enumerated() {
            let lastSeq = UInt64(max(0, scan.lastSeqs[index]))
            let updates = scan.updates[index]
            let complete = scan.reachedEnd || lastSeq <= UInt64(max(0, scan.skips[index])) || updates.last?.seq == lastSeq
            result[region] = OutboxRead(updates: updates, lastSeq: lastSeq, complete: complete)
        }
        return result
    }

    /// What one pass over `outbox_writes` found, per asked region (by index).
    private struct OutboxScan {
        var updates: [[ContextUpdate]]
        /// The last allocated seq of each region.
        var lastSeqs: [Int64]
        /// Each region's rows up to this seq were skipped (published or confirmed).
        var skips: [Int64]
        /// The seq of each region's last row stepped over, when there was one.
        var lastSeen: [Int64?]
        /// The last row stepped over; nil when none was.
        var lastWid: Int64?
        /// The pass read the table to its end (rather than stopping at `limit`).
        var reachedEnd = false
    }

    private static func scanOutbox(_ db: Database, asked: [Region], floors: [UInt64], from resume: Int64, limit: Int) throws -> OutboxScan {
        var published: [String: Int64] = [:]
        var lastSeqs: [String: Int64] = [:]
        let regionRows = try db.cachedStatement(sql: "SELECT name, last_seq, published_seq FROM regions")
        for row in try Row.fetchAll(regionRows) {
            lastSeqs[row[0]] = row[1]
            published[row[0]] = row[2]
        }
        var scan = OutboxScan(
            updates: Array(repeating: [], count: asked.count),
            lastSeqs: asked.map { lastSeqs[$0.name] ?? 0 },
            skips: asked.indices.map { max(Int64(bitPattern: floors[$0]), published[asked[$0].name] ?? 0) },
            lastSeen: Array(repeating: nil, count: asked.count))
        for index in asked.indices {
            scan.updates[index].reserveCapacity(min(limit, max(0, Int(scan.lastSeqs[index] - scan.skips[index])), 4096))
        }
        let names = asked.map { Array($0.name.utf8) }
        let sql = "SELECT wid, seqs, id, version, op, body, ts_us, replay FROM outbox_writes WHERE wid > ? ORDER BY wid"
        // Read through the raw SQLite API: no `Row` per row, and the body is copied once,
        // straight into the updates' shared bytes.
        let statement = try db.cachedStatement(sql: sql).sqliteStatement
        sqlite3_reset(statement)
        defer { sqlite3_reset(statement) }
        sqlite3_bind_int64(statement, 1, resume)
        guard limit > 0 else { return scan }
        var hits: [(index: Int, seq: Int64)] = []
        scan.reachedEnd = try RawSQLite.forEachRow(statement, db, sql: sql) {
            hits.removeAll(keepingCapacity: true)
            if let text = sqlite3_column_text(statement, 1) {
                let count = Int(sqlite3_column_bytes(statement, 1))
                RegionSeqs.forEachSeq(in: UnsafeBufferPointer(start: text, count: count), of: names) { index, seq in
                    scan.lastSeen[index] = seq
                    if seq > scan.skips[index] { hits.append((index, seq)) }
                }
            }
            scan.lastWid = sqlite3_column_int64(statement, 0)
            guard !hits.isEmpty else { return true }
            let id = try ContextID(RawSQLite.text(statement, 2))
            let op = ContextOp(rawValue: RawSQLite.text(statement, 4)) ?? .put
            let body = RawSQLite.blob(statement, 5)
            let version = sqlite3_column_int64(statement, 3)
            let hubTimeUs = sqlite3_column_int64(statement, 6)
            let replay = sqlite3_column_int64(statement, 7) != 0
            var full = false
            for hit in hits {
                scan.updates[hit.index].append(
                    ContextUpdate(seq: UInt64(hit.seq), id: id, version: version, op: op, body: body, hubTimeUs: hubTimeUs, replay: replay))
                if scan.updates[hit.index].count >= limit { full = true }
            }
            return !full
        }
        return scan
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
            // configured holds nothing back. Each row's `seqs` is read in place (no text made).
            let names = configured.sorted()
            let bytes = names.map { Array($0.utf8) }
            let publishedSeqs = names.map { published[$0, default: 0] }
            var upTo: Int64?
            let sql = "SELECT wid, seqs FROM outbox_writes ORDER BY wid"
            let statement = try db.cachedStatement(sql: sql).sqliteStatement
            sqlite3_reset(statement)
            defer { sqlite3_reset(statement) }
            try RawSQLite.forEachRow(statement, db, sql: sql) {
                var done = true
                if let text = sqlite3_column_text(statement, 1) {
                    let count = Int(sqlite3_column_bytes(statement, 1))
                    RegionSeqs.forEachSeq(in: UnsafeBufferPointer(start: text, count: count), of: bytes) { index, seq in
                        if seq > publishedSeqs[index] { done = false }
                    }
                }
                guard done else { return false }
                upTo = sqlite3_column_int64(statement, 0)
                return true
            }
            sqlite3_reset(statement)  // done reading before the DELETE below
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

/// One region's share of an outbox read (``HubStore/outbox(after:limit:)``).
public struct OutboxRead: Sendable, Equatable {
    /// Its unpublished updates after the asked seq, in seq order, at most the asked limit.
    public var updates: [ContextUpdate]
    /// Its last allocated seq.
    public var lastSeq: UInt64
    /// No unpublished update of the region follows ``updates`` in the table as read: false when
    /// the read stopped at another region's limit (or this one's) before the region's last row.
    public var complete: Bool

    public init(updates: [ContextUpdate], lastSeq: UInt64, complete: Bool) {
        self.updates = updates
        self.lastSeq = lastSeq
        self.complete = complete
    }
}
