import Foundation
import GRDB
import GRDBSQLite
import PaneCore

extension ReplicaStore {
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
            return ApplyResult(applied: 0, ignored: 0, maxSeq: 0, committedAtUs: WallClock.nowUs())
        }
        let result = try pool.writeWithoutTransaction { db in try db.immediateTransaction { () throws -> ApplyResult in
            let nowUs = WallClock.nowUs()
            let now = nowUs / 1000
            let statement = try db.cachedStatement(sql: Self.upsertSQL)
            let raw = statement.sqliteStatement
            var applied = 0
            var maxSeq: UInt64 = 0
            defer { sqlite3_reset(raw) }
            // Where the batch starts, in one statement: the change counter, and whether any stale
            // mark exists (a version at or above one heals it, even when the apply rule ignores
            // it: the replica may already hold that version; the table is almost always empty).
            let (changeStart, healing) = try Self.applyStart(db)
            var counter = ChangeCounter(start: changeStart)
            let heal = healing ? try db.cachedStatement(sql: "DELETE FROM stale WHERE id = ? AND version <= ?") : nil
            let log = try db.cachedStatement(sql: ChangeLogTable.appendSQL).sqliteStatement
            defer { sqlite3_reset(log) }
            /// Writes one context row under the apply rule; whether it changed.
            func write(_ row: ContextUpdate) throws -> Bool {
                sqlite3_reset(raw)
                Self.bindRow(
                    raw, id: row.id.value, version: row.version, deleted: row.op == .del, body: row.body,
                    hubTimeMs: row.hubTimeMs, appliedMs: now, seq: row.seq)
                sqlite3_bind_int64(raw, 8, counter.next)
                try RawSQLite.stepDone(raw, db, sql: Self.upsertSQL)
                let changed = sqlite3_changes(db.sqliteConnection) > 0
                if changed {
                    try ChangeLogTable.append(log, db, change: counter.next, id: row.id.value)
                    counter.used()
                }
                try heal?.execute(arguments: [row.id.value, row.version])
                return changed
            }
            for update in updates {
                if update.op == .batch {
                    // A batch entry's operations, each under the apply rule, in this transaction:
                    // readers see all of them or none. The entry counts as applied when any row changed.
                    var changed = false
                    for row in update.operations { changed = try write(row) || changed }
                    if changed { applied += 1 }
                } else if try write(update) {
                    applied += 1
                }
                maxSeq = max(maxSeq, update.seq)
            }
            let replicaMax = try Self.applyEnd(db, change: counter.last, maxSeq: maxSeq, applied: applied)
            // The change log's oldest rows go from its head every ``ChangeLogTable/trimEvery``
            // changes, in the transaction that crossed the mark.
            if ChangeLogTable.trimDue(from: changeStart, to: counter.last) { try ChangeLogTable.trim(db, counter: counter.last) }
            let ranges = try Self.record(db, seqs: updates.map(\.seq) + alsoDone)
            return ApplyResult(
                applied: applied, ignored: updates.count - applied, maxSeq: max(replicaMax, ranges.highest), committedAtUs: nowUs)
        } }
        // Read after the commit returned: readers see the batch from here on, so the latency
        // log and the lag histogram include the apply itself.
        return ApplyResult(applied: result.applied, ignored: result.ignored, maxSeq: result.maxSeq, committedAtUs: WallClock.nowUs())
    }

    /// The change counter and whether the `stale` table has a row: one statement, stepped
    /// through the raw API, at the start of every apply transaction.
    static func applyStart(_ db: Database) throws -> (change: Int64, healing: Bool) {
        let statement = try db.cachedStatement(sql: applyStartSQL).sqliteStatement
        defer { sqlite3_reset(statement) }
        let rc = sqlite3_step(statement)
        guard rc == SQLITE_ROW else { throw RawSQLite.error(rc, db, sql: applyStartSQL) }
        return (sqlite3_column_int64(statement, 0), sqlite3_column_int64(statement, 1) != 0)
    }

    static let applyStartSQL = "SELECT (SELECT value FROM replica_state WHERE name = 'change'), EXISTS(SELECT 1 FROM stale)"

    /// Stores the change counter's last number, raises `max_seq` to `maxSeq` and adds `applied`
    /// to the applied count at the end of every apply transaction (these rows share a page), then
    /// reads the replica-wide `max_seq`. One cached statement per row: an `UPDATE … RETURNING`,
    /// or one `UPDATE` of the three rows (`name IN (…)`), builds a temporary table whose pager
    /// SQLite opens and frees each time (5.6% of a spoke's CPU in `steady`, docs/benchmarks.md).
    static func applyEnd(_ db: Database, change: Int64, maxSeq: UInt64, applied: Int) throws -> UInt64 {
        func set(_ sql: String, _ value: Int64) throws {
            let update = try db.cachedStatement(sql: sql).sqliteStatement
            defer { sqlite3_reset(update) }
            sqlite3_bind_int64(update, 1, value)
            try RawSQLite.stepDone(update, db, sql: sql)
        }
        try set(storeChangeSQL, change)
        try set(raiseMaxSeqSQL, Int64(maxSeq))
        try set(addAppliedSQL, Int64(applied))
        let read = try db.cachedStatement(sql: maxSeqSQL).sqliteStatement
        defer { sqlite3_reset(read) }
        var replicaMax: UInt64 = 0
        try RawSQLite.forEachRow(read, db, sql: maxSeqSQL) {
            replicaMax = UInt64(max(0, sqlite3_column_int64(read, 0)))
            return false
        }
        return replicaMax
    }

    static let storeChangeSQL = "UPDATE replica_state SET value = ?1 WHERE name = 'change'"
    static let raiseMaxSeqSQL = "UPDATE replica_state SET value = max(value, ?1) WHERE name = 'max_seq'"
    static let addAppliedSQL = "UPDATE replica_state SET value = value + ?1 WHERE name = 'applied'"
    static let maxSeqSQL = "SELECT value FROM replica_state WHERE name = 'max_seq'"

    /// Binds the seven columns a context row is written with (id, version, deleted, body,
    /// hub_ts, applied_ts, seq, at `first` and the six parameters after it: `?1`–`?7` by default)
    /// through the raw SQLite API: the apply and snapshot hot loops. The id's UTF-8 is bound from
    /// the string's own storage (SQLite copies it), not from a C string made for the call.
    static func bindRow(
        _ raw: OpaquePointer, id: String, version: Int64, deleted: Bool, body: [UInt8], hubTimeMs: Int64, appliedMs: Int64, seq: UInt64,
        first: Int32 = 1
    ) {
        RawSQLite.bind(text: id, to: raw, at: first)
        sqlite3_bind_int64(raw, first + 1, version)
        sqlite3_bind_int(raw, first + 2, deleted ? 1 : 0)
        RawSQLite.bind(blob: body, to: raw, at: first + 3)
        sqlite3_bind_int64(raw, first + 4, hubTimeMs)
        sqlite3_bind_int64(raw, first + 5, appliedMs)
        sqlite3_bind_int64(raw, first + 6, Int64(seq))
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
            try db.cachedStatement(sql: "DELETE FROM applied_ranges").execute()
            let insertSQL = "INSERT INTO applied_ranges(lo, hi) VALUES (?, ?)"
            let insert = try db.cachedStatement(sql: insertSQL).sqliteStatement
            defer { sqlite3_reset(insert) }
            for range in ranges.ranges {
                sqlite3_reset(insert)
                sqlite3_bind_int64(insert, 1, Int64(range.lowerBound))
                sqlite3_bind_int64(insert, 2, Int64(range.upperBound))
                try RawSQLite.stepDone(insert, db, sql: insertSQL)
            }
        }
        return ranges
    }

    /// The applied seq ranges; the first one's upper end is the watermark.
    public func appliedRanges() throws -> SeqRanges {
        try pool.read { db in try Self.ranges(db) }
    }
}

/// What one batch did.
public struct ApplyResult: Sendable, Equatable {
    /// Rows that changed (newer versions).
    public let applied: Int
    /// Duplicates and older versions, left as they were.
    public let ignored: Int
    /// The replica-wide highest seq after this batch (all workers).
    public let maxSeq: UInt64
    /// The wall-clock time of the commit, µs since the epoch (read right after it returned:
    /// the latency log and the lag histogram compare it with the entries' `tsus`).
    public let committedAtUs: Int64
    /// ``committedAtUs`` in whole milliseconds.
    public var committedAtMs: Int64 { committedAtUs / 1000 }
}
