import Foundation
import GRDB
import GRDBSQLite
import PaneCore
import PaneSQLite

/// A replica's SQLite file: the contexts it serves and its position in the region stream.
///
/// Shared by every worker process of the replica (WAL, busy timeout). Writes go through one
/// transaction per batch; reads use the pool's readers and never wait on a writer.
public final class ReplicaStore: Sendable {
    let pool: DatabasePool
    public let path: String

    public init(path: String) throws {
        var config = Configuration()
        // Several worker processes share the file: wait for the writer lock instead of failing.
        config.busyMode = .timeout(30)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        self.path = path
        self.pool = try DatabasePool(path: path, configuration: config)
        try Self.migrate(pool)
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
                        hub_ts INTEGER NOT NULL,
                        applied_ts INTEGER NOT NULL);
                    CREATE TABLE replica_state(name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);
                    INSERT INTO replica_state(name, value) VALUES ('max_seq', 0), ('applied', 0);
                    """)
        }
        migrator.registerMigration("v2-stale") { db in
            // Contexts a dead letter left behind: served with a stale flag until healed.
            try db.execute(
                sql: """
                    CREATE TABLE stale(
                        id TEXT PRIMARY KEY NOT NULL,
                        version INTEGER NOT NULL,
                        reason TEXT NOT NULL,
                        entry_id TEXT NOT NULL,
                        marked_at INTEGER NOT NULL);
                    """)
        }
        migrator.registerMigration("v3-resync") { db in
            // The seq that wrote each row (resync removes only rows written at or below its seq),
            // the snapshot that last confirmed it, the applied seq ranges (the watermark), and
            // the replica's resync in flight and finished.
            try db.execute(
                sql: """
                    ALTER TABLE contexts ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE contexts ADD COLUMN synced_epoch INTEGER NOT NULL DEFAULT 0;
                    CREATE TABLE applied_ranges(lo INTEGER PRIMARY KEY NOT NULL, hi INTEGER NOT NULL);
                    INSERT INTO applied_ranges(lo, hi) VALUES (0, 0);
                    CREATE TABLE resync_state(
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        request_id TEXT NOT NULL, reason TEXT NOT NULL, requested_at INTEGER NOT NULL,
                        bootstrapping INTEGER NOT NULL, epoch INTEGER NOT NULL DEFAULT 0,
                        chunks_done INTEGER NOT NULL DEFAULT 0, chunks INTEGER NOT NULL DEFAULT 0);
                    CREATE TABLE resync_log(
                        epoch INTEGER PRIMARY KEY NOT NULL, request_ids TEXT NOT NULL, reason TEXT NOT NULL,
                        seq INTEGER NOT NULL, rows INTEGER NOT NULL, removed INTEGER NOT NULL, finished_at INTEGER NOT NULL);
                    INSERT OR IGNORE INTO replica_state(name, value) VALUES ('digest_at', 0);
                    """)
        }
        return migrator
    }

    /// The apply rule in SQL: the row changes only when the incoming version is greater
    /// (``ApplyRule/decide(incoming:stored:)``). Tombstones keep their version.
    static let upsertSQL = """
        INSERT INTO contexts(id, version, deleted, body, hub_ts, applied_ts, seq) VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(id) DO UPDATE SET version = excluded.version, deleted = excluded.deleted,
            body = excluded.body, hub_ts = excluded.hub_ts, applied_ts = excluded.applied_ts, seq = excluded.seq
        WHERE excluded.version > contexts.version
        """

    /// Applies `updates` in one transaction under the apply rule, and records their seqs (and
    /// `alsoDone`: entries handled without a row change, such as another replica's snapshot
    /// announcement) in the applied ranges.
    ///
    /// GRDB owns the connection, the transaction and the cached statement; the hot loop binds
    /// through the raw SQLite API, which measured about a third faster than GRDB's
    /// `StatementArguments` (docs/benchmarks.md).
    @discardableResult
    public func apply(_ updates: [ContextUpdate], alsoDone: [UInt64] = []) throws -> ApplyResult {
        guard !updates.isEmpty || !alsoDone.isEmpty else {
            return ApplyResult(applied: 0, ignored: 0, maxSeq: 0, committedAtMs: WallClock.nowMs())
        }
        return try pool.write { db in
            let now = WallClock.nowMs()
            let statement = try db.cachedStatement(sql: Self.upsertSQL)
            let raw = statement.sqliteStatement
            var applied = 0
            var maxSeq: UInt64 = 0
            defer { sqlite3_reset(raw) }
            // A version at or above a stale mark heals it, even when the apply rule ignores it
            // (the replica may already hold that version). The table is almost always empty.
            let healing = try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM stale)") ?? false
            let heal = healing ? try db.cachedStatement(sql: "DELETE FROM stale WHERE id = ? AND version <= ?") : nil
            for update in updates {
                sqlite3_reset(raw)
                Self.bindRow(
                    raw, id: update.id.value, version: update.version, deleted: update.op == .del, body: update.body,
                    hubTimeMs: update.hubTimeMs, appliedMs: now, seq: update.seq)
                try RawSQLite.stepDone(raw, db, sql: Self.upsertSQL)
                if db.changesCount > 0 { applied += 1 }
                maxSeq = max(maxSeq, update.seq)
                try heal?.execute(arguments: [update.id.value, update.version])
            }
            try db.cachedStatement(sql: "UPDATE replica_state SET value = max(value, ?) WHERE name = 'max_seq'")
                .execute(arguments: [Int64(maxSeq)])
            try db.cachedStatement(sql: "UPDATE replica_state SET value = value + ? WHERE name = 'applied'")
                .execute(arguments: [applied])
            let replicaMax = try Int64.fetchOne(db.cachedStatement(sql: "SELECT value FROM replica_state WHERE name = 'max_seq'")) ?? 0
            let ranges = try Self.record(db, seqs: updates.map(\.seq) + alsoDone)
            return ApplyResult(
                applied: applied, ignored: updates.count - applied, maxSeq: max(UInt64(replicaMax), ranges.highest), committedAtMs: now)
        }
    }

    /// Binds the seven columns a context row is written with (`?1`–`?7`: id, version, deleted,
    /// body, hub_ts, applied_ts, seq) through the raw SQLite API: the apply and snapshot hot loops.
    static func bindRow(
        _ raw: OpaquePointer, id: String, version: Int64, deleted: Bool, body: [UInt8], hubTimeMs: Int64, appliedMs: Int64, seq: UInt64
    ) {
        sqlite3_bind_text(raw, 1, id, -1, RawSQLite.transient)
        sqlite3_bind_int64(raw, 2, version)
        sqlite3_bind_int(raw, 3, deleted ? 1 : 0)
        RawSQLite.bind(blob: body, to: raw, at: 4)
        sqlite3_bind_int64(raw, 5, hubTimeMs)
        sqlite3_bind_int64(raw, 6, appliedMs)
        sqlite3_bind_int64(raw, 7, Int64(seq))
    }

    /// Adds `seqs` to the applied ranges, inside the caller's transaction. Usually one row is
    /// read and one rewritten.
    @discardableResult
    static func record(_ db: Database, seqs: [UInt64], raiseTo: UInt64? = nil) throws -> SeqRanges {
        var ranges = try Self.ranges(db)
        let before = ranges
        ranges.insert(seqs: seqs)
        if let raiseTo { ranges.raise(to: raiseTo) }
        if ranges != before {
            try db.execute(sql: "DELETE FROM applied_ranges")
            let insert = try db.cachedStatement(sql: "INSERT INTO applied_ranges(lo, hi) VALUES (?, ?)")
            for range in ranges.ranges { try insert.execute(arguments: [Int64(range.lowerBound), Int64(range.upperBound)]) }
        }
        return ranges
    }

    /// The applied seq ranges; the first one's upper end is the watermark.
    public func appliedRanges() throws -> SeqRanges {
        try pool.read { db in try Self.ranges(db) }
    }

    /// One context, tombstones included, and its stale mark if a dead letter left one.
    public func read(id: ContextID) async throws -> ReplicaRead {
        try await pool.read { db in
            let context = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT id, version, deleted, body, hub_ts FROM contexts WHERE id = ?"),
                arguments: [id.value]
            ).map { row in
                let body: Data = row["body"]
                return StoredContext(
                    id: row["id"], version: row["version"], deleted: row["deleted"], body: [UInt8](body),
                    updatedAtMs: row["hub_ts"])
            }
            let stale = try String.fetchOne(
                db.cachedStatement(sql: "SELECT reason FROM stale WHERE id = ?"), arguments: [id.value])
            return ReplicaRead(context: context, staleReason: stale)
        }
    }

    /// Marks `id` stale because the update at `entryID` (version `version`, 0 when unknown) was
    /// dead-lettered. Does nothing when the replica already holds that version or newer.
    @discardableResult
    public func markStale(id: ContextID, version: Int64, reason: String, entryID: String) throws -> Bool {
        try pool.write { db in
            let stored = try Int64.fetchOne(db, sql: "SELECT version FROM contexts WHERE id = ?", arguments: [id.value])
            if version > 0, let stored, stored >= version { return false }
            try db.execute(
                sql: """
                    INSERT INTO stale(id, version, reason, entry_id, marked_at) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET version = max(stale.version, excluded.version),
                        reason = excluded.reason, entry_id = excluded.entry_id, marked_at = excluded.marked_at
                    """,
                arguments: [id.value, version, String(reason.prefix(500)), entryID, WallClock.nowMs()])
            return true
        }
    }

    /// Every stale mark: id and reason.
    public func staleContexts() throws -> [ContextID: String] {
        try pool.read { db in
            var result: [ContextID: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, reason FROM stale") {
                result[try ContextID(row["id"])] = row["reason"]
            }
            return result
        }
    }

    /// Live (not deleted) ids in order, starting after `after`, limited to `prefix`.
    public func list(prefix: String, after: String?, limit: Int) async throws -> [(id: String, version: Int64)] {
        try await pool.read { db in
            var sql = "SELECT id, version FROM contexts WHERE deleted = 0"
            var arguments: StatementArguments = []
            if let after {
                sql += " AND id > ?"
                arguments += [after]
            }
            if !prefix.isEmpty {
                sql += " AND id >= ? AND id < ?"
                arguments += [prefix, Self.upperBound(ofPrefix: prefix)]
            }
            sql += " ORDER BY id LIMIT ?"
            arguments += [limit]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { (id: $0["id"], version: $0["version"]) }
        }
    }

    /// The smallest string greater than every string starting with `prefix` (ids are ASCII).
    static func upperBound(ofPrefix prefix: String) -> String {
        var bytes = Array(prefix.utf8)
        bytes[bytes.count - 1] += 1
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The highest `seq` applied so far by any worker of this replica.
    public func maxSeq() throws -> UInt64 {
        try pool.read { db in
            UInt64(try Int64.fetchOne(db, sql: "SELECT value FROM replica_state WHERE name = 'max_seq'") ?? 0)
        }
    }

    /// Every context with its version and tombstone flag: what convergence checks compare.
    public func state() throws -> [ContextID: VersionState] {
        try pool.read { db in
            var result: [ContextID: VersionState] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, version, deleted FROM contexts") {
                result[try ContextID(row["id"])] = VersionState(version: row["version"], deleted: row["deleted"])
            }
            return result
        }
    }
}

/// A read from the replica: the context (if any) and its stale mark (if any).
public struct ReplicaRead: Sendable {
    public let context: StoredContext?
    /// Why the replica may be behind the hub for this context: a dead-lettered update.
    public let staleReason: String?
}

/// What one batch did.
public struct ApplyResult: Sendable, Equatable {
    /// Rows that changed (newer versions).
    public let applied: Int
    /// Duplicates and older versions, left as they were.
    public let ignored: Int
    /// The replica-wide highest seq after this batch (all workers).
    public let maxSeq: UInt64
    public let committedAtMs: Int64
}
