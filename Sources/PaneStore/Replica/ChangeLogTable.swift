import GRDB
import GRDBSQLite

/// The replica's change log as a table of its own, ordered by change number: `change_log(change,
/// id)` gets a row each time a context row takes a new change number. The writers of `contexts`
/// append it themselves in the same transaction, through prepared statements: the apply one row
/// per changed context (``append(_:change:id:)``), a snapshot chunk one row per snapshot row, in
/// statements of many rows (``appendManySQL``). A row is current when `contexts.change` still
/// equals its change; an older row of the same id (or of a row a snapshot removed, or a snapshot
/// row that did not win) is superseded, skipped by reads and trimmed from the log's head in
/// order (``trim(_:examine:)``).
///
/// It replaces the index `contexts_change` (schema v5), whose entry for a row's old change number
/// sat on a random leaf: updating a row rewrote that leaf too, a second page per applied entry. A
/// log row goes to the table's last page, and the trim deletes rows of its first pages, many per
/// page. An earlier version kept the log with triggers on `contexts`: their sub-program per row
/// cost more CPU than the pages saved (docs/benchmarks.md, "the replica's change log").
enum ChangeLogTable {
    /// Schema v7: the log table, filled from the rows as they are, and the index dropped. Rows
    /// that never took a change number (written before schema v5, change 0) take numbers after
    /// the counter, so each has a place in the log: a watcher that resumes
    /// across this migration sees them once more, at their current state.
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
                INSERT OR IGNORE INTO replica_state(name, value) VALUES ('change_log_trimmed', 0);
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
    /// Log rows one trim step examines: twice ``trimEvery``, so the trim's cursor walks the log
    /// faster than rows are added; each pass from the head to the end deletes every row
    /// superseded before it began, and the log stays near the live rows' count (about 1.5 times
    /// it in `steady`'s random updates).
    static let trimExamined = 1_024

    /// Whether an apply that moved the change counter from `start` to `end` runs a trim step.
    static func trimDue(from start: Int64, to end: Int64) -> Bool {
        end / trimEvery != start / trimEvery
    }

    /// One trim step: deletes the superseded rows among the `examine` log rows after the trim's
    /// cursor (`replica_state.change_log_trimmed`), and moves the cursor past them, back to the
    /// log's head after its last row. Reads skip superseded rows, so a trim changes no read's
    /// result, and a watcher behind the trim loses nothing: the rows it would still read are the
    /// current ones, which stay. Returns the rows deleted.
    @discardableResult
    static func trim(_ db: Database, examine: Int = trimExamined) throws -> Int {
        let cursor = try Int64.fetchOne(db.cachedStatement(sql: "SELECT value FROM replica_state WHERE name = 'change_log_trimmed'")) ?? 0
        let end = try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT change FROM change_log WHERE change > ? ORDER BY change LIMIT 1 OFFSET ?"),
            arguments: [cursor, max(1, examine) - 1])
        try db.cachedStatement(sql: trimSQL).execute(arguments: [cursor, end ?? Int64.max])
        let deleted = db.changesCount
        try db.cachedStatement(sql: "UPDATE replica_state SET value = ? WHERE name = 'change_log_trimmed'").execute(arguments: [end ?? 0])
        return deleted
    }

    static let trimSQL = """
        DELETE FROM change_log WHERE change > ?1 AND change <= ?2
        AND NOT EXISTS (SELECT 1 FROM contexts AS c WHERE c.id = change_log.id AND c.change = change_log.change)
        """
}
