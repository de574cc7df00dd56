import Foundation
import GRDB
import PaneCore

/// The tables of the hub file and their migrations, in order; GRDB records which ran.
enum HubSchema {
    /// A fresh history identity: 16 random hex digits.
    static func newHubID() -> String {
        String(UUID().uuidString.lowercased().filter { $0 != "-" }.prefix(16))
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
        migrator.registerMigration("v3-hub-identity") { db in
            // The identity of this database's history, in every position token (`Pane-Index`):
            // a token from another hub database is refused rather than misread.
            try db.execute(sql: "CREATE TABLE hub_meta(name TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)")
            try db.execute(sql: "INSERT INTO hub_meta(name, value) VALUES ('hub_id', ?)", arguments: [newHubID()])
        }
        migrator.registerMigration("v4-outbox-ts-us") { db in
            // The hub's commit time in µs, for the stream entry's `tsus` (issue 13). Added, not
            // converted: `ts` keeps its ms, so a hub binary from before this migration can still
            // write the file (it leaves `ts_us` NULL), and rows without `ts_us` are published
            // with `ts × 1000` (``HubStore/outbox(region:after:limit:)``).
            try db.execute(sql: "ALTER TABLE outbox ADD COLUMN ts_us INTEGER")
        }
        migrator.registerMigration("v5-outbox-replay") { db in
            // 1 on a row that re-sends a version already published (republish, dead-letter
            // replay): its entry carries the `replay` marker, so spokes do not count it as lag.
            try db.execute(sql: "ALTER TABLE outbox ADD COLUMN replay INTEGER NOT NULL DEFAULT 0")
        }
        migrator.registerMigration("v6-placement-body-sum") { db in
            // The hash of the placed body (ContextDigest.bodyHash; 0 for a tombstone), for the
            // digest's format 2. Filled here wherever the hub still holds the placed version's
            // body; a placement older than its context's body stays NULL (its body is unknown).
            // A hub binary from before this migration leaves the column NULL on the rows it writes.
            try db.execute(sql: "ALTER TABLE placements ADD COLUMN body_sum INTEGER")
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT p.region, p.id, c.deleted, c.body FROM placements p
                    JOIN contexts c ON c.id = p.id AND c.version = p.version
                    """)
            let update = try db.makeStatement(sql: "UPDATE placements SET body_sum = ? WHERE region = ? AND id = ?")
            while let row = try rows.next() {
                let deleted: Bool = row[2]
                let body: Data = row[3] ?? Data()
                let sum = deleted ? 0 : body.withUnsafeBytes { ContextDigest.bodyHash($0) }
                try update.execute(arguments: [Int64(bitPattern: sum), row[0] as String, row[1] as String])
            }
        }
        migrator.registerMigration("v7-one-outbox-row-per-write") { db in
            try migrateToOneRowPerWrite(db)
        }
        return migrator
    }

    /// Issue 13: a write to n regions wrote 2n + 1 rows (the context, n outbox rows, n
    /// placements), each on its own B-tree page. From here on it writes two:
    ///
    /// - `contexts.placed` names the regions the context's current version went to, with the seq
    ///   it got in each (``RegionSeqs``), and `contexts.body_sum` is that version's body hash:
    ///   the placement in those regions is the context row itself.
    /// - `placements_apart` (the old `placements`, renamed) holds only the placements of regions
    ///   NOT in `contexts.placed`: a region a later write skipped keeps its older version there.
    ///   A context with `placed` NULL (written before this migration) has all its placements there.
    /// - `outbox_writes` has one row per write naming its regions and their seqs; the seqs are
    ///   allocated and stored at commit as before, so a re-publish after a crash sends the same
    ///   seq per region. Pending rows of the old `outbox` move over with their seqs unchanged.
    ///
    /// The old tables are renamed or dropped on purpose: a hub binary from before this
    /// migration fails on the migrated file ("no such table") instead of writing contexts whose
    /// `placed` no longer matches them.
    static func migrateToOneRowPerWrite(_ db: Database) throws {
        try db.execute(
            sql: """
                ALTER TABLE contexts ADD COLUMN placed TEXT;
                ALTER TABLE contexts ADD COLUMN body_sum INTEGER;
                ALTER TABLE placements RENAME TO placements_apart;
                CREATE TABLE outbox_writes(
                    wid INTEGER PRIMARY KEY AUTOINCREMENT,
                    seqs TEXT NOT NULL,
                    id TEXT NOT NULL, version INTEGER NOT NULL, op TEXT NOT NULL,
                    body BLOB NOT NULL, ts_us INTEGER NOT NULL, replay INTEGER NOT NULL DEFAULT 0);
                INSERT INTO outbox_writes(seqs, id, version, op, body, ts_us, replay)
                    SELECT ',' || region || ':' || seq || ',', id, version, op, body, coalesce(ts_us, ts * 1000), replay
                    FROM outbox ORDER BY region, seq;
                DROP TABLE outbox;
                """)
    }
}
