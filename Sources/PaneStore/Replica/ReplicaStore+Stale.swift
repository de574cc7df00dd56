import Foundation
import GRDB
import GRDBSQLite
import PaneCore

extension ReplicaStore {
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
}
