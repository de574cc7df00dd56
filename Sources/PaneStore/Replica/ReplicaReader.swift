import Foundation
import GRDB
import GRDBSQLite
import PaneCore
import Synchronization

/// The read path of a spoke's HTTP API: read-only SQLite connections of its own, used on the
/// thread that serves the request.
///
/// A point read is a few microseconds of SQLite. GRDB's async read moved it to a Dispatch queue
/// and back, and the two thread wake-ups cost more than the read and the HTTP request together
/// (docs/benchmarks.md, issue 13). Here a request takes a connection from a small pool (one per
/// thread reading at the same moment: the event loops), runs one prepared statement, and gives
/// it back. WAL readers never wait for the writer, so the event loop does not block on an apply.
public final class ReplicaReader: Sendable {
    public let path: String
    private let idle = Mutex<[ReadConnection]>([])

    public init(path: String) {
        self.path = path
    }

    /// One context, tombstones included, and its stale mark if a dead letter left one: one
    /// statement, so both come from the same snapshot of the file.
    public func read(id: ContextID) throws -> ReplicaRead {
        try withConnection { connection in try connection.read(id: id.value) }
    }

    /// One context, tombstones included, and its stale mark, without the watermark: the embedded
    /// reader's point read (one index lookup fewer than ``read(id:)``).
    public func context(id: ContextID) throws -> (context: StoredContext?, staleReason: String?) {
        try withConnection { connection in try connection.context(id: id.value) }
    }

    /// Live (not deleted) ids in order, starting after `after`, limited to `prefix`, and the
    /// replica's watermark, from one read transaction.
    public func list(prefix: String, after: String?, limit: Int) throws -> ReplicaPage {
        try withConnection { connection in try connection.list(prefix: prefix, after: after, limit: limit) }
    }

    /// The highest seq that wrote any context under `prefix` (tombstones included), and the
    /// watermark: what a blocking query on the list route compares with its position.
    public func latestChange(prefix: String) throws -> (seq: UInt64, watermark: UInt64) {
        try withConnection { connection in try connection.latestChange(prefix: prefix) }
    }

    /// Up to `limit` rows under `prefix` changed after `change` (live rows, tombstones and rows a
    /// snapshot removed), in change order, and the file's change log and watermark, from one
    /// read transaction: the change feed's one query (``ChangeFeed``).
    public func changes(prefix: String, after change: Int64, limit: Int) throws -> ChangePage {
        try withConnection { connection in try connection.changes(prefix: prefix, after: change, limit: limit) }
    }

    /// The contexts a dead letter (or a snapshot row that could not be written) left behind the
    /// hub: id, the version that heals the mark, and why.
    public func staleMarks() throws -> [(id: String, version: Int64, reason: String)] {
        try withConnection { connection in try connection.staleMarks() }
    }

    /// A full transfer's page of live rows under `prefix` after `afterID`, in id order.
    public func liveRows(prefix: String, afterID: String, limit: Int) throws -> ChangePage {
        try withConnection { connection in try connection.liveRows(prefix: prefix, afterID: afterID, limit: limit) }
    }

    /// The file's change log (identity, counter, floor) and watermark.
    public func changeLog() throws -> (log: WatchStart.Log, watermark: UInt64) {
        try withConnection { connection in try connection.changeLog() }
    }

    private func withConnection<T>(_ body: (ReadConnection) throws -> T) throws -> T {
        let connection = try idle.withLock { $0.popLast() } ?? ReadConnection(path: path)
        defer { idle.withLock { $0.append(connection) } }
        return try body(connection)
    }
}

/// One read-only SQLite connection and its prepared statements; used by one thread at a time.
final class ReadConnection: @unchecked Sendable {
    private let db: OpaquePointer
    private var statements: [String: OpaquePointer] = [:]
    /// The point read's statement (also in ``statements``), kept at hand: hashing its SQL text to
    /// find it cost more per request than the rest of the lookup.
    private var pointStatement: OpaquePointer?

    static let pointSQL = """
        SELECT c.id, c.version, c.deleted, c.body, c.hub_ts, s.reason, c.seq,
            (SELECT hi FROM applied_ranges WHERE lo = 0)
        FROM (SELECT ?1 AS k) AS q LEFT JOIN contexts AS c ON c.id = q.k LEFT JOIN stale AS s ON s.id = q.k
        """
    static let watermarkSQL = "SELECT hi FROM applied_ranges WHERE lo = 0"
    static let contextSQL = """
        SELECT c.id, c.version, c.deleted, c.body, c.hub_ts, s.reason
        FROM (SELECT ?1 AS k) AS q LEFT JOIN contexts AS c ON c.id = q.k LEFT JOIN stale AS s ON s.id = q.k
        """

    init(path: String) throws {
        var handle: OpaquePointer?
        let rc = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let handle { sqlite3_close_v2(handle) }
            throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: message)
        }
        db = handle
        // A reader waits only while the writer resets the WAL index; never for long.
        sqlite3_busy_timeout(db, 5_000)
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(db)
    }

    func read(id: String) throws -> ReplicaRead {
        let statement = try pointStatement ?? prepared(Self.pointSQL)
        pointStatement = statement
        defer { sqlite3_reset(statement) }
        RawSQLite.bind(text: id, to: statement, at: 1)
        let rc = sqlite3_step(statement)
        guard rc == SQLITE_ROW else { throw error(rc, sql: Self.pointSQL) }
        let stale: String? = sqlite3_column_type(statement, 5) == SQLITE_NULL ? nil : RawSQLite.text(statement, 5)
        let watermark = UInt64(max(0, sqlite3_column_int64(statement, 7)))
        guard sqlite3_column_type(statement, 0) != SQLITE_NULL else {
            return ReplicaRead(context: nil, staleReason: stale, seq: 0, watermark: watermark)
        }
        let context = Self.storedContext(statement)
        return ReplicaRead(context: context, staleReason: stale, seq: UInt64(max(0, sqlite3_column_int64(statement, 6))), watermark: watermark)
    }

    /// The context in columns 0–4 (id, version, deleted, body, updated) of both point statements.
    private static func storedContext(_ statement: OpaquePointer) -> StoredContext {
        let count = Int(sqlite3_column_bytes(statement, 3))
        let body: [UInt8] =
            if count > 0, let bytes = sqlite3_column_blob(statement, 3) {
                Array(UnsafeRawBufferPointer(start: bytes, count: count))
            } else {
                []
            }
        return StoredContext(
            id: RawSQLite.text(statement, 0), version: sqlite3_column_int64(statement, 1), deleted: sqlite3_column_int64(statement, 2) != 0,
            body: body, updatedAtMs: sqlite3_column_int64(statement, 4))
    }

    func context(id: String) throws -> (context: StoredContext?, staleReason: String?) {
        let statement = try prepared(Self.contextSQL)
        defer { sqlite3_reset(statement) }
        RawSQLite.bind(text: id, to: statement, at: 1)
        let rc = sqlite3_step(statement)
        guard rc == SQLITE_ROW else { throw error(rc, sql: Self.contextSQL) }
        let stale: String? = sqlite3_column_type(statement, 5) == SQLITE_NULL ? nil : RawSQLite.text(statement, 5)
        guard sqlite3_column_type(statement, 0) != SQLITE_NULL else { return (nil, stale) }
        let context = Self.storedContext(statement)
        return (context, stale)
    }

    func list(prefix: String, after: String?, limit: Int) throws -> ReplicaPage {
        // Both statements in one read transaction: the page and the watermark agree.
        try step(try prepared("BEGIN"), sql: "BEGIN")
        defer { _ = try? step(try prepared("COMMIT"), sql: "COMMIT") }
        let items = try items(prefix: prefix, after: after, limit: limit)
        return ReplicaPage(items: items, watermark: try watermark())
    }

    func latestChange(prefix: String) throws -> (seq: UInt64, watermark: UInt64) {
        try step(try prepared("BEGIN"), sql: "BEGIN")
        defer { _ = try? step(try prepared("COMMIT"), sql: "COMMIT") }
        var sql = "SELECT max(seq) FROM contexts"
        if !prefix.isEmpty { sql += " WHERE id >= ?1 AND id < ?2" }
        let statement = try prepared(sql)
        defer { sqlite3_reset(statement) }
        if !prefix.isEmpty {
            RawSQLite.bind(text: prefix, to: statement, at: 1)
            RawSQLite.bind(text: ReplicaStore.upperBound(ofPrefix: prefix), to: statement, at: 2)
        }
        let rc = sqlite3_step(statement)
        guard rc == SQLITE_ROW else { throw error(rc, sql: sql) }
        return (UInt64(max(0, sqlite3_column_int64(statement, 0))), try watermark())
    }

    static let changeLogSQL = """
        SELECT (SELECT value FROM replica_state WHERE name = 'file_id'), (SELECT value FROM replica_state WHERE name = 'change'),
            max((SELECT value FROM replica_state WHERE name = 'removals_floor'),
                coalesce((SELECT value FROM replica_state WHERE name = 'change_log_floor'), 0)),
            (SELECT hi FROM applied_ranges WHERE lo = 0)
        """

    func changeLog() throws -> (log: WatchStart.Log, watermark: UInt64) {
        let statement = try prepared(Self.changeLogSQL)
        defer { sqlite3_reset(statement) }
        let rc = sqlite3_step(statement)
        guard rc == SQLITE_ROW else { throw error(rc, sql: Self.changeLogSQL) }
        guard sqlite3_column_type(statement, 0) != SQLITE_NULL else {
            throw DatabaseError(
                resultCode: .SQLITE_ERROR,
                message: "the replica file has no change log: it was made by an older pane; start this version's spoke on it once")
        }
        let log = WatchStart.Log(
            file: String(UInt64(bitPattern: sqlite3_column_int64(statement, 0)), radix: 16), change: sqlite3_column_int64(statement, 1),
            floor: sqlite3_column_int64(statement, 2))
        return (log, UInt64(max(0, sqlite3_column_int64(statement, 3))))
    }

    func changes(prefix: String, after change: Int64, limit: Int) throws -> ChangePage {
        try step(try prepared("BEGIN"), sql: "BEGIN")
        defer { _ = try? step(try prepared("COMMIT"), sql: "COMMIT") }
        let (log, watermark) = try changeLog()
        let filter = { (table: String) in prefix.isEmpty ? "" : " AND \(table).id >= ?3 AND \(table).id < ?4" }
        // Two queries in change order (the change log's and the removals' own order), merged:
        // an ORDER BY over a UNION would sort every row after the position on each page. The
        // log's rows whose context has moved on (or was removed) are skipped (``ChangeLogTable``).
        let live = try changeRows(
            sql: """
                SELECT c.id, c.version, c.deleted, c.body, c.change FROM change_log AS l JOIN contexts AS c ON c.id = l.id
                WHERE l.change > ?1\(filter("l")) AND c.change = l.change ORDER BY l.change LIMIT ?2
                """,
            prefix: prefix, after: change, limit: limit)
        let removed = try changeRows(
            sql: """
                SELECT r.id, r.version, 1, NULL, r.change FROM removals AS r WHERE r.change > ?1\(filter("r"))
                AND NOT EXISTS (SELECT 1 FROM contexts AS c WHERE c.id = r.id) ORDER BY r.change LIMIT ?2
                """,
            prefix: prefix, after: change, limit: limit)
        var rows = live
        var cut = false
        if !removed.isEmpty {
            rows = (live + removed).sorted { $0.change < $1.change }
            // Rows cut from the merged page come after its last one: the page is full then, or
            // the feed would take the counter for its position and never read them.
            cut = rows.count > limit
            if cut { rows.removeLast(rows.count - limit) }
        }
        return ChangePage(rows: rows, log: log, watermark: watermark, full: cut || live.count == limit || removed.count == limit)
    }

    /// A full transfer's page: the live rows under `prefix` whose id sorts after `afterID`, in
    /// id order, read in one transaction with the change log it saw. Full when `limit` came back.
    func liveRows(prefix: String, afterID: String, limit: Int) throws -> ChangePage {
        try step(try prepared("BEGIN"), sql: "BEGIN")
        defer { _ = try? step(try prepared("COMMIT"), sql: "COMMIT") }
        let (log, watermark) = try changeLog()
        let sql =
            prefix.isEmpty
            ? "SELECT id, version, deleted, body, change FROM contexts WHERE id > ?1 AND deleted = 0 ORDER BY id LIMIT ?2"
            : "SELECT id, version, deleted, body, change FROM contexts WHERE id > ?1 AND id >= ?3 AND id < ?4 AND deleted = 0 ORDER BY id LIMIT ?2"
        let statement = try prepared(sql)
        defer { sqlite3_reset(statement) }
        RawSQLite.bind(text: afterID, to: statement, at: 1)
        sqlite3_bind_int64(statement, 2, Int64(limit))
        Self.bind(prefix: prefix, to: statement)
        let rows = try collect(statement, sql: sql)
        return ChangePage(rows: rows, log: log, watermark: watermark, full: rows.count == limit)
    }

    private func changeRows(sql: String, prefix: String, after change: Int64, limit: Int) throws -> [ChangeRow] {
        let statement = try prepared(sql)
        defer { sqlite3_reset(statement) }
        sqlite3_bind_int64(statement, 1, change)
        sqlite3_bind_int64(statement, 2, Int64(limit))
        Self.bind(prefix: prefix, to: statement)
        return try collect(statement, sql: sql)
    }

    /// Binds a non-empty `prefix` as the id range `?3` (inclusive) to `?4` (exclusive).
    private static func bind(prefix: String, to statement: OpaquePointer) {
        guard !prefix.isEmpty else { return }
        RawSQLite.bind(text: prefix, to: statement, at: 3)
        RawSQLite.bind(text: ReplicaStore.upperBound(ofPrefix: prefix), to: statement, at: 4)
    }

    /// The rows of a bound statement selecting id, version, deleted, body, change.
    private func collect(_ statement: OpaquePointer, sql: String) throws -> [ChangeRow] {
        var rows: [ChangeRow] = []
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { return rows }
            guard rc == SQLITE_ROW else { throw error(rc, sql: sql) }
            let count = Int(sqlite3_column_bytes(statement, 3))
            let body: [UInt8] =
                if count > 0, let bytes = sqlite3_column_blob(statement, 3) {
                    Array(UnsafeRawBufferPointer(start: bytes, count: count))
                } else {
                    []
                }
            rows.append(
                ChangeRow(
                    id: RawSQLite.text(statement, 0), version: sqlite3_column_int64(statement, 1),
                    deleted: sqlite3_column_int64(statement, 2) != 0, body: body, change: sqlite3_column_int64(statement, 4)))
        }
    }

    func staleMarks() throws -> [(id: String, version: Int64, reason: String)] {
        let sql = "SELECT id, version, reason FROM stale ORDER BY id"
        let statement = try prepared(sql)
        defer { sqlite3_reset(statement) }
        var marks: [(id: String, version: Int64, reason: String)] = []
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { return marks }
            guard rc == SQLITE_ROW else { throw error(rc, sql: sql) }
            marks.append((RawSQLite.text(statement, 0), sqlite3_column_int64(statement, 1), RawSQLite.text(statement, 2)))
        }
    }

    private func watermark() throws -> UInt64 {
        let statement = try prepared(Self.watermarkSQL)
        defer { sqlite3_reset(statement) }
        let rc = sqlite3_step(statement)
        if rc == SQLITE_DONE { return 0 }
        guard rc == SQLITE_ROW else { throw error(rc, sql: Self.watermarkSQL) }
        return UInt64(max(0, sqlite3_column_int64(statement, 0)))
    }

    /// Runs a statement that returns no row.
    private func step(_ statement: OpaquePointer, sql: String) throws {
        defer { sqlite3_reset(statement) }
        let rc = sqlite3_step(statement)
        guard rc == SQLITE_DONE else { throw error(rc, sql: sql) }
    }

    private func items(prefix: String, after: String?, limit: Int) throws -> [(id: String, version: Int64)] {
        var sql = "SELECT id, version FROM contexts WHERE deleted = 0"
        if after != nil { sql += " AND id > ?" }
        if !prefix.isEmpty { sql += " AND id >= ? AND id < ?" }
        sql += " ORDER BY id LIMIT ?"
        let statement = try prepared(sql)
        defer { sqlite3_reset(statement) }
        var index: Int32 = 1
        if let after {
            RawSQLite.bind(text: after, to: statement, at: index)
            index += 1
        }
        if !prefix.isEmpty {
            RawSQLite.bind(text: prefix, to: statement, at: index)
            RawSQLite.bind(text: ReplicaStore.upperBound(ofPrefix: prefix), to: statement, at: index + 1)
            index += 2
        }
        sqlite3_bind_int64(statement, index, Int64(limit))
        var page: [(id: String, version: Int64)] = []
        page.reserveCapacity(min(limit, 128))
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { return page }
            guard rc == SQLITE_ROW else { throw error(rc, sql: sql) }
            page.append((RawSQLite.text(statement, 0), sqlite3_column_int64(statement, 1)))
        }
    }

    private func prepared(_ sql: String) throws -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw error(rc, sql: sql) }
        statements[sql] = statement
        return statement
    }

    private func error(_ rc: Int32, sql: String) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db)), sql: sql)
    }
}
