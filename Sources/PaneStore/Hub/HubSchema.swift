import Foundation
import GRDB
import PaneCore

/// The tables of the hub file and their migrations, in order; GRDB records which ran.
enum HubSchema {
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
        migrator.registerMigration("v3-hub-identity") { db in
            // The identity of this database's history, in every position token (`Pane-Index`):
            // a token from another hub database is refused rather than misread.
            try db.execute(sql: "CREATE TABLE hub_meta(name TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)")
            let id = UUID().uuidString.lowercased().filter { $0 != "-" }.prefix(16)
            try db.execute(sql: "INSERT INTO hub_meta(name, value) VALUES ('hub_id', ?)", arguments: [String(id)])
        }
        migrator.registerMigration("v4-outbox-ts-us") { db in
            // The hub's commit time in µs, for the stream entry's `tsus` (issue 13). Added, not
            // converted: `ts` keeps its ms, so a hub binary from before this migration can still
            // write the file (it leaves `ts_us` NULL), and rows without `ts_us` are published
            // with `ts × 1000` (``HubStore/outbox(region:after:limit:)``).
            try db.execute(sql: "ALTER TABLE outbox ADD COLUMN ts_us INTEGER")
        }
        return migrator
    }
}
