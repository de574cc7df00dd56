import GRDB
import GRDBSQLite

/// The replica's change log as a table of its own, ordered by change number: `change_log(change,
/// id)` gets a row each time a context row takes a new change number. The writers of `contexts`
/// append it themselves in the same transaction, through prepared statements: the apply one row
/// per changed context, a snapshot chunk one row per snapshot row (``append(_:_:change:id:)``).
/// A row is current when `contexts.change` still
/// equals its change; an older row of the same id (or of a row a snapshot removed, or a snapshot
/// row that did not win) is superseded and skipped by reads. The log keeps the last ``kept``
/// changes, trimmed from its head (``trim(_:counter:keep:)``): no lookup decides what goes, so a
/// full transfer reads `contexts` itself and the log serves resumes after a position.
///
/// It replaces the index `contexts_change` (schema v5), whose entry for a row's old change number
/// sat on a random leaf: updating a row rewrote that leaf too, a second page per applied entry. A
/// log row goes to the table's last page, and the trim deletes whole pages at its head. Earlier
/// versions kept the log with triggers, then trimmed superseded rows by looking each up in
/// `contexts`: that cost more CPU than the pages saved (docs/benchmarks.md).
enum ChangeLogTable {
    /// Schema v7: the log table, filled from the rows as they are, and the index dropped. Rows
    /// that never took a change number (written before schema v5, change 0) take numbers after
    /// the counter, so each has a place in the log: a watcher that resumes across this
    /// migration sees them once more, at their current state.
    static func migrate(_ db: Database) throws {
        let counter = try Int64.fetchOne(db, sql: "SELECT value FROM replica_state WHERE name = 'change'") ?? 0
        let unnumbered = try String.fetchAll(db, sql: "SELECT id FROM contexts WHERE change = 0 ORDER BY id")
        let renumber = try db.makeStatement(sql: "UPDATE contexts SET change = ? WHERE id = ?")
        for (offset, id) in unnumbered.enumerated() {
            try renumber.execute(arguments: [counter + Int64(offset) + 1, id])
        }
        if !unnumbered.isEmpty {
            try db.execute(
                sql: "UPDATE replica_state SET value = ? WHERE name = 'change'", arguments: [counter + Int64(unnumbered.count)])
        }
        try db.execute(
            sql: """
                CREATE TABLE change_log(change INTEGER PRIMARY KEY, id TEXT NOT NULL);
                INSERT INTO change_log(change, id) SELECT change, id FROM contexts ORDER BY change;
                DROP INDEX contexts_change;
                INSERT OR IGNORE INTO replica_state(name, value) VALUES ('change_log_floor', 0);
                """)
    }

    static let appendSQL = "INSERT INTO change_log(change, id) VALUES (?, ?)"

    /// Appends the log row of a context row that just took change number `change`, on the cached
    /// statement `raw` (``appendSQL``), inside the caller's transaction.
    static func append(_ raw: OpaquePointer, _ db: Database, change: Int64, id: String) throws {
        sqlite3_reset(raw)
        sqlite3_bind_int64(raw, 1, change)
        RawSQLite.bind(text: id, to: raw, at: 2)
        try RawSQLite.stepDone(raw, db, sql: appendSQL)
    }

    /// Changes counted between two trim steps of the apply (``ReplicaStore/apply(_:alsoDone:)``).
    static let trimEvery: Int64 = 512
    /// The changes the log keeps: a watch position older than the newest `kept` changes gets a
    /// `reset` and a full transfer (``WatchStart``). A full transfer reads `contexts`, not the log,
    /// and must end before this many changes pass (at 5,000 changes a second, 200 s).
    static let kept: Int64 = 1_000_000

    /// Whether an apply that moved the change counter from `start` to `end` runs a trim step.
    static func trimDue(from start: Int64, to end: Int64) -> Bool {
        end / trimEvery != start / trimEvery
    }

    /// The most change numbers one trim step moves the head by: 16 times ``trimEvery``, so the
    /// head catches up quickly, yet after a bootstrap of millions of rows no single apply deletes
    /// them all in its transaction.
    static let trimStep: Int64 = 8_192

    /// One trim step: deletes the log's rows numbered `counter - keep` or lower, at most `step`
    /// numbers past the current floor (its head: whole pages, no lookups), and raises
    /// `replica_state.change_log_floor` to the last number deleted. Returns the rows deleted.
    @discardableResult
    static func trim(_ db: Database, counter: Int64, keep: Int64 = kept, step: Int64 = trimStep) throws -> Int {
        let floor = try Int64.fetchOne(db.cachedStatement(sql: "SELECT value FROM replica_state WHERE name = 'change_log_floor'")) ?? 0
        let cut = min(counter - keep, floor + step)
        guard cut > floor else { return 0 }
        try db.cachedStatement(sql: "DELETE FROM change_log WHERE change <= ?").execute(arguments: [cut])
        let deleted = db.changesCount
        try db.cachedStatement(sql: "UPDATE replica_state SET value = max(value, ?) WHERE name = 'change_log_floor'").execute(arguments: [cut])
        return deleted
    }
}
