import Foundation
import GRDB
import PaneCore
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
    /// Writes waiting for the next group commit.
    private let pending = Mutex<(items: [PendingWrite], scheduled: Bool)>(([], false))

    /// Opens (creating and migrating) the store at `path` for `regions`.
    public init(path: String, regions: [Region]) throws {
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
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
        let result = try pool.write { db in try Self.write(db, id: id, op: .put, body: body, targets: targets) }
        doorbell.ring()
        return result ?? HubWrite(id: id, version: 0, seqs: [:])
    }

    /// Deletes `id` (a tombstone with the next version); `nil` when it is unknown or already deleted.
    public func delete(id: ContextID, regions requested: [Region]? = nil) throws -> HubWrite? {
        let targets = try targets(requested)
        let result = try pool.write { db in try Self.write(db, id: id, op: .del, body: [], targets: targets) }
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
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HubWrite?, any Error>) in
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
        do {
            try db.inTransaction {
                results = []
                for item in batch {
                    let r = item.request
                    results.append(.success(try Self.write(db, id: r.id, op: r.op, body: r.body, targets: r.targets)))
                }
                return .commit
            }
        } catch {
            results = batch.map { item in
                Result {
                    var written: HubWrite?
                    try db.inTransaction {
                        let r = item.request
                        written = try Self.write(db, id: r.id, op: r.op, body: r.body, targets: r.targets)
                        return .commit
                    }
                    return written
                }
            }
        }
        doorbell.ring()
        for (item, result) in zip(batch, results) { item.continuation.resume(with: result) }
    }

    private static func write(_ db: Database, id: ContextID, op: ContextOp, body: [UInt8], targets: [Region]) throws -> HubWrite? {
        let current = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT version, deleted FROM contexts WHERE id = ?"), arguments: [id.value])
        let oldVersion: Int64 = current?["version"] ?? 0
        if op == .del {
            let deleted: Bool = current?["deleted"] ?? true
            if deleted { return nil }
        }
        let version = oldVersion + 1
        let now = WallClock.nowMs()
        let bodyData = Data(body)
        try db.cachedStatement(
            sql: """
                INSERT INTO contexts(id, version, deleted, body, updated_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET version = excluded.version, deleted = excluded.deleted,
                    body = excluded.body, updated_at = excluded.updated_at
                """
        ).execute(arguments: [id.value, version, op == .del, bodyData, now])
        var seqs: [Region: UInt64] = [:]
        for region in targets {
            let seq = try Int64.fetchOne(
                db.cachedStatement(sql: "UPDATE regions SET last_seq = last_seq + 1 WHERE name = ? RETURNING last_seq"),
                arguments: [region.name]) ?? 0
            try db.cachedStatement(
                sql: "INSERT INTO outbox(region, seq, id, version, op, body, ts) VALUES (?, ?, ?, ?, ?, ?, ?)"
            ).execute(arguments: [region.name, seq, id.value, version, op.rawValue, bodyData, now])
            try db.cachedStatement(
                sql: """
                    INSERT INTO placements(region, id, version, deleted, seq) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(region, id) DO UPDATE SET version = excluded.version,
                        deleted = excluded.deleted, seq = excluded.seq
                    """
            ).execute(arguments: [region.name, id.value, version, op == .del, seq])
            seqs[region] = UInt64(seq)
        }
        return HubWrite(id: id, version: version, seqs: seqs)
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

    /// Up to `limit` unpublished updates of `region` with seq above `after`, in `seq` order.
    public func outbox(region: Region, after: UInt64 = 0, limit: Int) throws -> [ContextUpdate] {
        try pool.read { db in
            let rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT seq, id, version, op, body, ts FROM outbox
                        WHERE region = ? AND seq > max(?, (SELECT published_seq FROM regions WHERE name = ?))
                        ORDER BY seq LIMIT ?
                        """),
                arguments: [region.name, Int64(after), region.name, limit])
            // Columns by index: name lookups cost more than the rest of the row on this hot path.
            return try rows.map { row in
                let op = ContextOp(rawValue: row[3]) ?? .put
                let body: Data = row[4]
                return ContextUpdate(
                    seq: UInt64(row[0] as Int64), id: try ContextID(row[1]), version: row[2], op: op,
                    body: [UInt8](body), hubTimeMs: row[5])
            }
        }
    }

    /// Records that every update of `region` up to `seq` is in its stream.
    public func markPublished(region: Region, upTo seq: UInt64) throws {
        try pool.write { db in
            try db.cachedStatement(sql: "UPDATE regions SET published_seq = max(published_seq, ?) WHERE name = ?")
                .execute(arguments: [Int64(seq), region.name])
        }
    }

    /// Deletes outbox rows already published; the publisher calls it when idle.
    @discardableResult
    public func compactOutbox() throws -> Int {
        try pool.write { db in
            try db.execute(
                sql: "DELETE FROM outbox WHERE seq <= (SELECT published_seq FROM regions WHERE regions.name = outbox.region)")
            return db.changesCount
        }
    }

    /// Updates not yet published, per region.
    public func outboxDepth() throws -> [Region: Int] {
        try pool.read { db in
            var result: [Region: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, last_seq - published_seq AS n FROM regions") {
                if let region = try? Region(row["name"] as String) { result[region] = row["n"] }
            }
            return result
        }
    }

    /// The last allocated `seq` of `region`.
    public func lastSeq(region: Region) throws -> UInt64 {
        try pool.read { db in
            UInt64(try Int64.fetchOne(db, sql: "SELECT last_seq FROM regions WHERE name = ?", arguments: [region.name]) ?? 0)
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

/// A write waiting for a group commit.
struct PendingWrite: Sendable {
    struct Request: Sendable {
        let id: ContextID
        let op: ContextOp
        let body: [UInt8]
        let targets: [Region]
    }
    let request: Request
    let continuation: CheckedContinuation<HubWrite?, any Error>
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
