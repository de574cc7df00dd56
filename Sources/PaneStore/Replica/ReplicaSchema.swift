import Foundation
import GRDB
import PaneCore

/// The tables of the replica file and their migrations, in order; GRDB records which ran.
enum ReplicaSchema {
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
        migrator.registerMigration("v4-resync-requests") { db in
            // The resync requests this replica sent (the last 100): a `snap` announcement is
            // applied only when it answers one of them (PaneCore.SnapshotGuard).
            try db.execute(
                sql: """
                    CREATE TABLE resync_requests(request_id TEXT PRIMARY KEY NOT NULL, requested_at INTEGER NOT NULL);
                    INSERT OR IGNORE INTO resync_requests(request_id, requested_at) SELECT request_id, requested_at FROM resync_state;
                    """)
        }
        migrator.registerMigration("v5-change-log") { db in
            // The watch's change log (docs/architecture.md, "Watching a prefix"): every row
            // change takes the next number of the file's `change` counter, rows a snapshot
            // removes are kept in `removals` with theirs (the last 100,000; `removals_floor` is
            // the highest change trimmed), and `file_id` names this file, so a position from
            // another file is recognised.
            try db.execute(
                sql: """
                    ALTER TABLE contexts ADD COLUMN change INTEGER NOT NULL DEFAULT 0;
                    CREATE INDEX contexts_change ON contexts(change);
                    CREATE TABLE removals(
                        id TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL, change INTEGER NOT NULL);
                    CREATE INDEX removals_change ON removals(change);
                    INSERT OR IGNORE INTO replica_state(name, value) VALUES ('change', 0), ('removals_floor', 0);
                    INSERT OR IGNORE INTO replica_state(name, value) VALUES ('file_id', (random() & 9223372036854775807) | 1);
                    """)
        }
        migrator.registerMigration("v6-hub-history") { db in
            // The hub id (`hub_meta.hub_id`) of the history the replica holds: when `pane:{R}:hub`
            // names another, the hub was restored and the replica resyncs everything.
            try db.execute(sql: "CREATE TABLE replica_meta(name TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)")
        }
        migrator.registerMigration("v7-change-log-table", migrate: ChangeLogTable.migrate)
        return migrator
    }
}
