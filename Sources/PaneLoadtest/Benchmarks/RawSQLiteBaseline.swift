import Foundation
import GRDBSQLite

/// The machine's own bound for the apply path: the same version-gated upsert as a replica,
/// through the raw SQLite C API (no GRDB), batched in transactions, WAL, synchronous=NORMAL.
public enum RawSQLiteBaseline {

    /// Upserts `rows` rows of `bodyBytes` bytes in transactions of `batch`; returns rows per second.
    public static func upsertRate(path: String, rows: Int, bodyBytes: Int, batch: Int) throws -> Double {
        try upsert(path: path, rows: rows, bodyBytes: bodyBytes, batch: batch).rowsPerSecond
    }

    /// A run of the baseline: its rate against the wall clock, and the CPU it took (the calling
    /// thread's, which runs every statement, checkpoints and syncs included). The wall-clock rate
    /// moves with the disk's sync latency (SQLite's inline checkpoints sync every 1,000 pages);
    /// rows per CPU-second do not.
    public struct Run: Sendable {
        public var rowsPerSecond: Double
        public var cpuSeconds: Double
        public var rowsPerCPUSecond: Double { cpuSeconds > 0 ? Double(rows) / cpuSeconds : 0 }
        public var rows: Int
    }

    /// Upserts `rows` rows of `bodyBytes` bytes in transactions of `batch`.
    public static func upsert(path: String, rows: Int, bodyBytes: Int, batch: Int) throws -> Run {
        var db: OpaquePointer?
        guard sqlite3_open(path, &db) == SQLITE_OK, let db else { throw LoadtestError.sqlite("cannot open \(path)") }
        defer { sqlite3_close(db) }
        func exec(_ sql: String) throws {
            guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
                throw LoadtestError.sqlite("\(sql): \(String(cString: sqlite3_errmsg(db)))")
            }
        }
        try exec("PRAGMA journal_mode = WAL")
        try exec("PRAGMA synchronous = NORMAL")
        try exec(
            "CREATE TABLE contexts(id TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL, deleted INTEGER NOT NULL, body BLOB NOT NULL, hub_ts INTEGER NOT NULL, applied_ts INTEGER NOT NULL)"
        )
        let sql = """
            INSERT INTO contexts(id, version, deleted, body, hub_ts, applied_ts) VALUES (?, ?, 0, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET version = excluded.version, deleted = excluded.deleted,
                body = excluded.body, hub_ts = excluded.hub_ts, applied_ts = excluded.applied_ts
            WHERE excluded.version > contexts.version
            """
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw LoadtestError.sqlite(String(cString: sqlite3_errmsg(db)))
        }
        defer { sqlite3_finalize(statement) }
        let body = [UInt8](repeating: UInt8(ascii: "x"), count: bodyBytes)
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        let ids = (0..<rows).map { "ctx-\($0)" }
        let start = DispatchTime.now()
        let cpuStart = ProcStat.threadCPUSeconds()
        var i = 0
        while i < rows {
            try exec("BEGIN")
            for _ in 0..<min(batch, rows - i) {
                sqlite3_bind_text(statement, 1, ids[i], -1, transient)
                sqlite3_bind_int64(statement, 2, 1)
                _ = body.withUnsafeBytes { sqlite3_bind_blob(statement, 3, $0.baseAddress, Int32(bodyBytes), transient) }
                sqlite3_bind_int64(statement, 4, 1)
                sqlite3_bind_int64(statement, 5, 1)
                guard sqlite3_step(statement) == SQLITE_DONE else { throw LoadtestError.sqlite(String(cString: sqlite3_errmsg(db))) }
                sqlite3_reset(statement)
                i += 1
            }
            try exec("COMMIT")
        }
        let cpuSeconds = ProcStat.threadCPUSeconds() - cpuStart
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        return Run(rowsPerSecond: Double(rows) / seconds, cpuSeconds: cpuSeconds, rows: rows)
    }
}
