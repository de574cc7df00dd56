import Foundation
import GRDB
import PaneCore

/// Backups of the hub's file and restores that start a new history (`pane admin backup-hub`,
/// `pane admin restore-hub`). The file parts only; what Redis and the replicas saw is the
/// caller's (``RestorePlan``).
public enum HubBackup {
    /// What a hub file holds, as a restore needs it.
    public struct Contents: Sendable, Equatable {
        /// Each region's `last_seq`, by region name order.
        public var lastSeqs: [Region: UInt64]
        public var hubID: String
        public var contexts: Int
        public var maxVersion: Int64

        /// The regions, sorted by name.
        public var regions: [Region] { lastSeqs.keys.sorted { $0.name < $1.name } }
    }

    /// Writes a consistent copy of the hub file at `database` to `target` with `VACUUM INTO`: a
    /// read transaction, so a running hub goes on writing. `target` must not exist.
    @discardableResult
    public static func backup(database: String, to target: String) throws -> Contents {
        guard FileManager.default.fileExists(atPath: database) else {
            throw HubBackupError("no hub database at \(database)")
        }
        guard !FileManager.default.fileExists(atPath: target) else {
            throw HubBackupError("\(target) already exists; a backup never overwrites a file")
        }
        let queue = try DatabaseQueue(path: database)
        try checkIsHub(queue, path: database)
        try queue.inDatabase { db in try db.execute(sql: "VACUUM INTO ?", arguments: [target]) }
        try queue.close()
        return try contents(of: target)
    }

    /// Reads what the hub file at `path` holds.
    public static func contents(of path: String) throws -> Contents {
        guard FileManager.default.fileExists(atPath: path) else { throw HubBackupError("no hub database at \(path)") }
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        try checkIsHub(queue, path: path)
        return try queue.read { db in
            var lastSeqs: [Region: UInt64] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, last_seq FROM regions") {
                lastSeqs[try Region(row["name"] as String)] = UInt64(max(0, row["last_seq"] as Int64))
            }
            let hasMeta = try db.tableExists("hub_meta")
            let hubID = hasMeta ? try String.fetchOne(db, sql: "SELECT value FROM hub_meta WHERE name = 'hub_id'") ?? "" : ""
            let contexts = try Int.fetchOne(db, sql: "SELECT count(*) FROM contexts") ?? 0
            let maxVersion = try Int64.fetchOne(db, sql: "SELECT coalesce(max(version), 0) FROM contexts") ?? 0
            return Contents(lastSeqs: lastSeqs, hubID: hubID, contexts: contexts, maxVersion: maxVersion)
        }
    }

    /// Copies `backup` to `database` (which must not exist, nor its `-wal` and `-shm`) and brings
    /// the copy's schema up to date. The backup itself is never written. Returns the copy's
    /// contents, which ``restartHistory(database:plan:)`` then needs.
    public static func prepare(backup: String, database: String) throws -> Contents {
        let source = try contents(of: backup)
        for path in [database, database + "-wal", database + "-shm"] where FileManager.default.fileExists(atPath: path) {
            throw HubBackupError("\(path) exists; move the old hub database aside first (--force does)")
        }
        try FileManager.default.copyItem(atPath: backup, toPath: database)
        // Migrations of a backup taken by an older hub run here, not in the hub at its start.
        _ = try HubStore(path: database, regions: source.regions)
        return try contents(of: database)
    }

    /// Starts a new history in the (prepared, not running) hub file at `database`: a new hub id,
    /// every version raised by ``RestorePlan/versionOffset``, each region's `last_seq` and
    /// `published_seq` set to the plan's, and the outbox emptied (the replicas are resynced from
    /// the file: nothing in it needs sending). Returns the new hub id.
    @discardableResult
    public static func restartHistory(database: String, plan: RestorePlan, restoredFrom backup: String) throws -> String {
        let hubID = HubSchema.newHubID()
        let queue = try DatabaseQueue(path: database)
        defer { try? queue.close() }
        try queue.write { db in
            try db.execute(sql: "UPDATE contexts SET version = version + ?", arguments: [plan.versionOffset])
            try db.execute(sql: "UPDATE placements_apart SET version = version + ?", arguments: [plan.versionOffset])
            try db.execute(sql: "DELETE FROM outbox_writes")
            for region in plan.regions {
                try db.execute(sql: "INSERT OR IGNORE INTO regions(name, last_seq) VALUES (?, 0)", arguments: [region.region.name])
                try db.execute(
                    sql: "UPDATE regions SET last_seq = ?, published_seq = ? WHERE name = ?",
                    arguments: [Int64(region.lastSeq), Int64(region.lastSeq), region.region.name])
            }
            let meta: [(String, String)] = [
                ("hub_id", hubID), ("restored_from", backup), ("restored_at_ms", String(WallClock.nowMs())),
                ("restore_version_offset", String(plan.versionOffset)),
            ]
            for (name, value) in meta {
                try db.execute(sql: "INSERT OR REPLACE INTO hub_meta(name, value) VALUES (?, ?)", arguments: [name, value])
            }
        }
        return hubID
    }

    private static func checkIsHub(_ queue: DatabaseQueue, path: String) throws {
        // `placements` before migration v7, `placements_apart` after it.
        let ok = try queue.read { db in
            try db.tableExists("regions") && db.tableExists("contexts") && (db.tableExists("placements") || db.tableExists("placements_apart"))
        }
        guard ok else { throw HubBackupError("\(path) is not a hub database (no regions, contexts and placements tables)") }
    }
}
