import Foundation
import GRDB
import GRDBSQLite
import PaneCore
import PaneSQLite
import Synchronization

/// The hub's authoritative store: contexts, per-region placements and the outbox, in one
/// SQLite file (WAL).
///
/// A write bumps the context's version and, in the same transaction, allocates the next `seq`
/// of every target region and appends one outbox row per region. The ``Publisher`` drains the
/// outbox into the region streams.
public final class HubStore: Sendable {
    /// The regions this hub publishes to.
    public let regions: [Region]
    let pool: DatabasePool
    /// Rung after every committed write, so the publisher wakes at once.
    public let doorbell = Doorbell()
    /// The last allocated seq of a region.
    static let lastSeqSQL = "SELECT last_seq FROM regions WHERE name = ?"
    /// Writes waiting for the next group commit.
    private let pending = Mutex<(items: [PendingWrite], scheduled: Bool)>(([], false))
    /// The outbox's newest rows, kept in memory after their commit so the publisher need not
    /// read back what was just written (``takeFresh(region:after:limit:)``).
    private let fresh = Mutex(OutboxTail())
    /// Published seqs confirmed by the publisher and not yet written to `regions.published_seq`
    /// (``persistPublished()`` writes them, and deletes the published outbox rows).
    private let confirmed = Mutex<[Region: UInt64]>([:])
    /// The marks last written by ``persistPublished()``.
    private let persisted = Mutex<[Region: UInt64]>([:])

    /// Opens (creating and migrating) the store at `path` for `regions`.
    public init(path: String, regions: [Region]) throws {
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // The writer checkpoints after a commit once the WAL holds this many pages. SQLite's
            // default (1,000) runs a checkpoint and its fdatasync every few hundred writes on
            // the commit path; at 10,000 the hot pages (contexts, placements) are copied back
            // once per 10,000 frames instead of again and again (docs/benchmarks.md).
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 10000")
        }
        self.pool = try DatabasePool(path: path, configuration: config)
        self.regions = regions
        try Self.migrate(pool)
        try pool.write { db in
            for region in regions {
                try db.execute(sql: "INSERT OR IGNORE INTO regions(name, last_seq) VALUES (?, 0)", arguments: [region.name])
            }
        }
    }

    /// Runs the migrations. Worker processes of one replica may open a new file at the same
    /// moment; each migration commits atomically, so the one that loses the race fails on
    /// "already exists" and finds the migration applied when it looks again.
    static func migrate(_ pool: DatabasePool) throws {
        var attempt = 0
        while true {
            do {
                try migrator.migrate(pool)
                return
            } catch {
                attempt += 1
                if attempt >= 5 { throw error }
                Thread.sleep(forTimeInterval: 0.05 * Double(attempt))
            }
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE contexts(
                        id TEXT PRIMARY KEY NOT NULL,
                        version INTEGER NOT NULL,
                        deleted INTEGER NOT NULL,
                        body BLOB NOT NULL,
                        updated_at INTEGER NOT NULL);
                    CREATE TABLE regions(name TEXT PRIMARY KEY NOT NULL, last_seq INTEGER NOT NULL);
                    CREATE TABLE placements(
                        region TEXT NOT NULL, id TEXT NOT NULL,
                        version INTEGER NOT NULL, deleted INTEGER NOT NULL, seq INTEGER NOT NULL,
                        PRIMARY KEY(region, id)) WITHOUT ROWID;
                    CREATE TABLE outbox(
                        region TEXT NOT NULL, seq INTEGER NOT NULL,
                        id TEXT NOT NULL, version INTEGER NOT NULL, op TEXT NOT NULL,
                        body BLOB NOT NULL, ts INTEGER NOT NULL,
                        PRIMARY KEY(region, seq)) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v2-published-seq") { db in
            // Marking a round published is one UPDATE; published rows are deleted later in bulk.
            try db.execute(sql: "ALTER TABLE regions ADD COLUMN published_seq INTEGER NOT NULL DEFAULT 0")
        }
        return migrator
    }

    /// Validates the target regions of a write: `nil` means every region.
    public func targets(_ requested: [Region]?) throws(ValidationError) -> [Region] {
        guard let requested else { return regions }
        guard !requested.isEmpty else {
            throw ValidationError(input: "regions", value: "", reason: "name at least one region")
        }
        for region in requested where !regions.contains(region) {
            throw ValidationError(
                input: "regions", value: region.name,
                reason: "this hub publishes to \(regions.map(\.name).joined(separator: ",")) only")
        }
        return requested
    }

    /// Writes `body` as the next version of `id`, for `regions` (all when `nil`).
    public func put(id: ContextID, body: [UInt8], regions requested: [Region]? = nil) throws -> HubWrite {
        let targets = try targets(requested)
        let result = try pool.writeWithoutTransaction { db in
            try self.writeOneCommitted(db, PendingWrite.Request(id: id, op: .put, body: body, targets: targets))
        }
        doorbell.ring()
        return result ?? HubWrite(id: id, version: 0, seqs: [:])
    }

    /// Deletes `id` (a tombstone with the next version); `nil` when it is unknown or already deleted.
    public func delete(id: ContextID, regions requested: [Region]? = nil) throws -> HubWrite? {
        let targets = try targets(requested)
        let result = try pool.writeWithoutTransaction { db in
            try self.writeOneCommitted(db, PendingWrite.Request(id: id, op: .del, body: [], targets: targets))
        }
        if result != nil { doorbell.ring() }
        return result
    }

    /// Async forms for request handlers. Concurrent writes are committed together (group
    /// commit) on GRDB's writer queue: one transaction writes the touched pages to the WAL once
    /// for the whole group instead of once per write.
    public func put(id: ContextID, body: [UInt8], regions requested: [Region]? = nil) async throws -> HubWrite {
        let targets = try targets(requested)
        let result = try await enqueue(PendingWrite.Request(id: id, op: .put, body: body, targets: targets))
        return result ?? HubWrite(id: id, version: 0, seqs: [:])
    }

    public func delete(id: ContextID, regions requested: [Region]? = nil) async throws -> HubWrite? {
        let targets = try targets(requested)
        return try await enqueue(PendingWrite.Request(id: id, op: .del, body: [], targets: targets))
    }

    private func enqueue(_ request: PendingWrite.Request) async throws -> HubWrite? {
        // Unsafe rather than checked: `drain` resumes every queued continuation exactly once, and
        // the checked form costs an allocation per write on this hot path.
        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<HubWrite?, any Error>) in
            let schedule = pending.withLock { state -> Bool in
                state.items.append(PendingWrite(request: request, continuation: continuation))
                if state.scheduled { return false }
                state.scheduled = true
                return true
            }
            if schedule { pool.asyncWriteWithoutTransaction { db in self.drain(db) } }
        }
    }

    /// Commits every queued write in one transaction; if that fails, one by one, so a bad write
    /// fails alone.
    private func drain(_ db: Database) {
        let batch = pending.withLock { state -> [PendingWrite] in
            defer {
                state.items = []
                state.scheduled = false
            }
            return state.items
        }
        guard !batch.isEmpty else { return }
        var results: [Result<HubWrite?, any Error>] = []
        results.reserveCapacity(batch.count)
        do {
            var written: [PlacedUpdate] = []
            try db.inTransaction {
                results.removeAll(keepingCapacity: true)
                var writer = try GroupWriter(db)
                for item in batch {
                    results.append(.success(try writer.write(item.request)))
                }
                try writer.finish()
                written = writer.written
                return .commit
            }
            committed(written)
        } catch {
            results = batch.map { item in
                Result { try self.writeOneCommitted(db, item.request) }
            }
        }
        doorbell.ring()
        for (item, result) in zip(batch, results) { item.continuation.resume(with: result) }
    }

    /// One write in a transaction of its own, handed to the publisher after its commit.
    private func writeOneCommitted(_ db: Database, _ request: PendingWrite.Request) throws -> HubWrite? {
        var result: HubWrite?
        var written: [PlacedUpdate] = []
        try db.inTransaction {
            var writer = try GroupWriter(db)
            result = try writer.write(request)
            try writer.finish()
            written = writer.written
            return .commit
        }
        committed(written)
        return result
    }

    /// Hands committed outbox rows to the publisher's in-memory tail. Called on the writer queue
    /// right after the commit, so the tail is in commit (and so seq) order.
    private func committed(_ written: [PlacedUpdate]) {
        guard !written.isEmpty else { return }
        fresh.withLock { $0.append(written) }
    }

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

    /// Publishes the current version of each of `ids` to `region` again, with new seqs: how a
    /// dead letter is replayed (from the hub's truth, never from the stale payload).
    /// Returns the ids republished and the ids the hub does not know.
    public func republish(ids: [ContextID], region: Region) async throws -> (republished: [ContextID], missing: [ContextID]) {
        _ = try targets([region])
        let result = try await pool.write { db -> ([ContextID], [ContextID]) in
            var done: [ContextID] = []
            var missing: [ContextID] = []
            for id in ids {
                guard
                    let row = try Row.fetchOne(
                        db, sql: "SELECT version, deleted, body, updated_at FROM contexts WHERE id = ?", arguments: [id.value])
                else {
                    missing.append(id)
                    continue
                }
                let deleted: Bool = row["deleted"]
                let seq = try Int64.fetchOne(
                    db, sql: "UPDATE regions SET last_seq = last_seq + 1 WHERE name = ? RETURNING last_seq", arguments: [region.name]) ?? 0
                let body: Data = row["body"]
                try db.execute(
                    sql: "INSERT INTO outbox(region, seq, id, version, op, body, ts) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    arguments: [region.name, seq, id.value, row["version"] as Int64, deleted ? "del" : "put", deleted ? Data() : body, row["updated_at"] as Int64])
                try db.execute(
                    sql: """
                        INSERT INTO placements(region, id, version, deleted, seq) VALUES (?, ?, ?, ?, ?)
                        ON CONFLICT(region, id) DO UPDATE SET version = excluded.version, deleted = excluded.deleted, seq = excluded.seq
                        """,
                    arguments: [region.name, id.value, row["version"] as Int64, deleted, seq])
                done.append(id)
            }
            return (done, missing)
        }
        outboxWrittenDirectly(region)
        doorbell.ring()
        return (result.0, result.1)
    }

    /// The authoritative copy of `id`, tombstones included.
    public func get(id: ContextID) async throws -> StoredContext? {
        try await pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT id, version, deleted, body, updated_at FROM contexts WHERE id = ?",
                arguments: [id.value]
            ).map(StoredContext.init(hubRow:))
        }
    }

    /// Up to `limit` unpublished updates of `region` with seq above `after`, in `seq` order, and
    /// the region's last allocated seq, read in one transaction. The in-memory tail of `region`
    /// is trusted again from here on: rows written past it from now on mark it again.
    public func outbox(region: Region, after: UInt64 = 0, limit: Int) throws -> (updates: [ContextUpdate], lastSeq: UInt64) {
        fresh.withLock { $0.revalidate(region) }
        // Rows confirmed in memory are skipped even before they are persisted.
        let after = max(after, confirmed.withLock { $0[region] ?? 0 })
        return try pool.read { db in
            let sql = """
                SELECT seq, id, version, op, body, ts FROM outbox
                WHERE region = ? AND seq > max(?, (SELECT published_seq FROM regions WHERE name = ?))
                ORDER BY seq LIMIT ?
                """
            // Read through the raw SQLite API: no `Row` per row, and the body is copied once,
            // straight into the update's bytes.
            let statement = try db.cachedStatement(sql: sql).sqliteStatement
            sqlite3_reset(statement)
            defer { sqlite3_reset(statement) }
            sqlite3_bind_text(statement, 1, region.name, -1, RawSQLite.transient)
            sqlite3_bind_int64(statement, 2, Int64(bitPattern: after))
            sqlite3_bind_text(statement, 3, region.name, -1, RawSQLite.transient)
            sqlite3_bind_int64(statement, 4, Int64(limit))
            var updates: [ContextUpdate] = []
            updates.reserveCapacity(min(limit, 4096))
            while true {
                let rc = sqlite3_step(statement)
                if rc == SQLITE_DONE { break }
                guard rc == SQLITE_ROW else { throw RawSQLite.error(rc, db, sql: sql) }
                let id = try ContextID(RawSQLite.text(statement, 1))
                let op = ContextOp(rawValue: RawSQLite.text(statement, 3)) ?? .put
                let count = Int(sqlite3_column_bytes(statement, 4))
                let body: [UInt8]
                if count > 0, let blob = sqlite3_column_blob(statement, 4) {
                    body = [UInt8](UnsafeRawBufferPointer(start: blob, count: count))
                } else {
                    body = []
                }
                updates.append(
                    ContextUpdate(
                        seq: UInt64(bitPattern: sqlite3_column_int64(statement, 0)), id: id,
                        version: sqlite3_column_int64(statement, 2), op: op, body: body,
                        hubTimeMs: sqlite3_column_int64(statement, 5)))
            }
            let lastSeq = try Int64.fetchOne(db.cachedStatement(sql: Self.lastSeqSQL), arguments: [region.name]) ?? 0
            return (updates, UInt64(max(0, lastSeq)))
        }
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
    /// outbox rows at or below them, in one transaction. Returns the rows deleted.
    @discardableResult
    public func persistPublished() throws -> Int {
        let marks = confirmed.withLock { $0 }
        guard persisted.withLock({ $0 != marks }) else { return 0 }
        let deleted = try pool.write { db in
            let update = try db.cachedStatement(sql: "UPDATE regions SET published_seq = max(published_seq, ?) WHERE name = ?")
            let delete = try db.cachedStatement(
                sql: "DELETE FROM outbox WHERE region = ? AND seq <= (SELECT published_seq FROM regions WHERE name = ?)")
            var deleted = 0
            for (region, seq) in marks {
                try update.execute(arguments: [Int64(seq), region.name])
                try delete.execute(arguments: [region.name, region.name])
                deleted += db.changesCount
            }
            return deleted
        }
        persisted.withLock { $0 = marks }
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

    /// The region's authoritative state: every context placed in it, with version and tombstone flag.
    public func state(of region: Region) throws -> [ContextID: VersionState] {
        try pool.read { db in
            var result: [ContextID: VersionState] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, version, deleted FROM placements WHERE region = ?", arguments: [region.name]) {
                result[try ContextID(row["id"])] = VersionState(version: row["version"], deleted: row["deleted"])
            }
            return result
        }
    }
}

/// The writes of one transaction (a group commit, or a single write).
///
/// The hot statements are looked up once per transaction and bound through the raw SQLite API
/// (as `ReplicaStore.apply` does). Region seqs are allocated in memory: the first write to a
/// region in the transaction reads `regions.last_seq`, and ``finish()`` writes the highest seq
/// back once per region, still inside the transaction, so a rollback discards the allocation
/// with the writes.
private struct GroupWriter {
    static let selectSQL = "SELECT version, deleted FROM contexts WHERE id = ?"
    static let upsertContextSQL = """
        INSERT INTO contexts(id, version, deleted, body, updated_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT(id) DO UPDATE SET version = excluded.version, deleted = excluded.deleted,
            body = excluded.body, updated_at = excluded.updated_at
        """
    static let insertOutboxSQL = "INSERT INTO outbox(region, seq, id, version, op, body, ts) VALUES (?, ?, ?, ?, ?, ?, ?)"
    static let upsertPlacementSQL = """
        INSERT INTO placements(region, id, version, deleted, seq) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT(region, id) DO UPDATE SET version = excluded.version,
            deleted = excluded.deleted, seq = excluded.seq
        """
    static let storeSeqSQL = "UPDATE regions SET last_seq = ? WHERE name = ?"

    let db: Database
    let select: OpaquePointer
    let upsertContext: OpaquePointer
    let insertOutbox: OpaquePointer
    let upsertPlacement: OpaquePointer
    /// The last seq allocated per region in this transaction.
    var lastSeqs: [(region: Region, seq: Int64)] = []
    /// The outbox rows written, for the publisher's in-memory tail once committed.
    var written: [PlacedUpdate] = []

    init(_ db: Database) throws {
        self.db = db
        select = try db.cachedStatement(sql: Self.selectSQL).sqliteStatement
        upsertContext = try db.cachedStatement(sql: Self.upsertContextSQL).sqliteStatement
        insertOutbox = try db.cachedStatement(sql: Self.insertOutboxSQL).sqliteStatement
        upsertPlacement = try db.cachedStatement(sql: Self.upsertPlacementSQL).sqliteStatement
    }

    mutating func write(_ request: PendingWrite.Request) throws -> HubWrite? {
        let id = request.id.value
        let isDelete = request.op == .del
        let (oldVersion, wasDeleted) = try current(id)
        if isDelete && wasDeleted { return nil }
        let version = oldVersion + 1
        let now = WallClock.nowMs()
        let transient = RawSQLite.transient
        let body = request.body

        sqlite3_reset(upsertContext)
        sqlite3_bind_text(upsertContext, 1, id, -1, transient)
        sqlite3_bind_int64(upsertContext, 2, version)
        sqlite3_bind_int(upsertContext, 3, isDelete ? 1 : 0)
        RawSQLite.bind(blob: body, to: upsertContext, at: 4)
        sqlite3_bind_int64(upsertContext, 5, now)
        try step(upsertContext, Self.upsertContextSQL)

        var seqs: [Region: UInt64] = [:]
        seqs.reserveCapacity(request.targets.count)
        for region in request.targets {
            let seq = try nextSeq(region)
            sqlite3_reset(insertOutbox)
            sqlite3_bind_text(insertOutbox, 1, region.name, -1, transient)
            sqlite3_bind_int64(insertOutbox, 2, seq)
            sqlite3_bind_text(insertOutbox, 3, id, -1, transient)
            sqlite3_bind_int64(insertOutbox, 4, version)
            sqlite3_bind_text(insertOutbox, 5, request.op.rawValue, -1, transient)
            RawSQLite.bind(blob: body, to: insertOutbox, at: 6)
            sqlite3_bind_int64(insertOutbox, 7, now)
            try step(insertOutbox, Self.insertOutboxSQL)

            sqlite3_reset(upsertPlacement)
            sqlite3_bind_text(upsertPlacement, 1, region.name, -1, transient)
            sqlite3_bind_text(upsertPlacement, 2, id, -1, transient)
            sqlite3_bind_int64(upsertPlacement, 3, version)
            sqlite3_bind_int(upsertPlacement, 4, isDelete ? 1 : 0)
            sqlite3_bind_int64(upsertPlacement, 5, seq)
            try step(upsertPlacement, Self.upsertPlacementSQL)
            seqs[region] = UInt64(seq)
            written.append(
                PlacedUpdate(
                    region: region,
                    update: ContextUpdate(seq: UInt64(seq), id: request.id, version: version, op: request.op, body: body, hubTimeMs: now)))
        }
        return HubWrite(id: request.id, version: version, seqs: seqs)
    }

    /// Stores the seqs allocated in this transaction in `regions.last_seq`.
    func finish() throws {
        guard !lastSeqs.isEmpty else { return }
        let statement = try db.cachedStatement(sql: Self.storeSeqSQL)
        for entry in lastSeqs {
            try statement.execute(arguments: [entry.seq, entry.region.name])
        }
    }

    /// The context's current version and tombstone flag; `(0, true)` when it is unknown.
    private func current(_ id: String) throws -> (Int64, Bool) {
        sqlite3_reset(select)
        defer { sqlite3_reset(select) }
        sqlite3_bind_text(select, 1, id, -1, RawSQLite.transient)
        switch sqlite3_step(select) {
        case SQLITE_ROW: return (sqlite3_column_int64(select, 0), sqlite3_column_int64(select, 1) != 0)
        case SQLITE_DONE: return (0, true)
        case let rc: throw RawSQLite.error(rc, db, sql: Self.selectSQL)
        }
    }

    private mutating func nextSeq(_ region: Region) throws -> Int64 {
        if let index = lastSeqs.firstIndex(where: { $0.region == region }) {
            lastSeqs[index].seq += 1
            return lastSeqs[index].seq
        }
        let last = try Int64.fetchOne(db.cachedStatement(sql: HubStore.lastSeqSQL), arguments: [region.name]) ?? 0
        lastSeqs.append((region, last + 1))
        return last + 1
    }

    /// Steps a bound statement and resets it, so it holds nothing between writes.
    private func step(_ statement: OpaquePointer, _ sql: String) throws {
        defer { sqlite3_reset(statement) }
        try RawSQLite.stepDone(statement, db, sql: sql)
    }
}

/// A write waiting for a group commit.
struct PendingWrite: Sendable {
    struct Request: Sendable {
        let id: ContextID
        let op: ContextOp
        let body: [UInt8]
        let targets: [Region]
    }
    let request: Request
    let continuation: UnsafeContinuation<HubWrite?, any Error>
}

/// The outcome of a hub write: the new version, and the `seq` it got in each region.
public struct HubWrite: Sendable, Equatable {
    public let id: ContextID
    public let version: Int64
    public let seqs: [Region: UInt64]
}

extension StoredContext {
    init(hubRow row: Row) {
        let data: Data = row["body"] ?? Data()
        self.init(
            id: row["id"], version: row["version"], deleted: row["deleted"], body: [UInt8](data),
            updatedAtMs: row["updated_at"])
    }
}
