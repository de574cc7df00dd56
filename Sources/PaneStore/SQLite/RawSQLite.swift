import GRDB
import GRDBSQLite

/// The raw SQLite calls the hot loops make on GRDB's cached statements, inside GRDB's
/// transactions: binding without `StatementArguments`, stepping without a `Row` per row. Both the
/// hub's writes and the replica's applies use them; SQLite's errors become GRDB's.
public enum RawSQLite {
    /// `SQLITE_TRANSIENT`: SQLite copies what is bound before the call returns.
    @inlinable
    public static var transient: sqlite3_destructor_type { unsafeBitCast(-1, to: sqlite3_destructor_type.self) }

    /// Binds `body` as a blob; an empty body as an empty blob, not NULL (the columns are NOT NULL).
    @inlinable
    public static func bind(blob body: [UInt8], to statement: OpaquePointer, at index: Int32) {
        if body.isEmpty {
            sqlite3_bind_zeroblob(statement, index, 0)
        } else {
            body.withUnsafeBytes { bytes in
                _ = sqlite3_bind_blob(statement, index, bytes.baseAddress, Int32(bytes.count), transient)
            }
        }
    }

    /// Binds `text` from the string's own UTF-8 storage (SQLite copies it): no C string is made
    /// for the call, as passing a `String` to `sqlite3_bind_text` does. An empty string binds
    /// "", never NULL.
    @inlinable
    public static func bind(text: String, to statement: OpaquePointer, at index: Int32) {
        var text = text
        text.withUTF8 { bytes in
            // An empty buffer may have no address: bind "" then, never NULL.
            let start = UnsafeRawPointer(bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!).assumingMemoryBound(to: CChar.self)
            _ = sqlite3_bind_text(statement, index, start, Int32(bytes.count), transient)
        }
    }

    /// Runs a bound statement that returns no rows.
    @inlinable
    public static func stepDone(_ statement: OpaquePointer, _ db: Database, sql: String) throws {
        let rc = sqlite3_step(statement)
        guard rc == SQLITE_DONE else { throw error(rc, db, sql: sql) }
    }

    /// Steps a bound statement through its rows, calling `row` on each (the statement positioned
    /// there) until it returns false; returns whether the rows ran out.
    @inlinable @discardableResult
    public static func forEachRow(_ statement: OpaquePointer, _ db: Database, sql: String, _ row: () throws -> Bool) throws -> Bool {
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { return true }
            guard rc == SQLITE_ROW else { throw error(rc, db, sql: sql) }
            if try !row() { return false }
        }
    }

    /// SQLite's result code `rc` and its message, as GRDB's error.
    public static func error(_ rc: Int32, _ db: Database, sql: String) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: sql)
    }

    /// A text column of the current row (`""` for NULL).
    @inlinable
    public static func text(_ statement: OpaquePointer, _ column: Int32) -> String {
        guard let bytes = sqlite3_column_text(statement, column) else { return "" }
        let count = Int(sqlite3_column_bytes(statement, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    /// A text or blob column's bytes in SQLite's own buffer, valid until the next step, reset or
    /// column call on `statement` (empty for NULL): read in place, never copied.
    @inlinable
    public static func bytes(_ statement: OpaquePointer, _ column: Int32) -> UnsafeRawBufferPointer {
        guard let bytes = sqlite3_column_blob(statement, column) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(statement, column)))
    }

    /// Whether a column of the current row is NULL.
    @inlinable
    public static func isNull(_ statement: OpaquePointer, _ column: Int32) -> Bool {
        sqlite3_column_type(statement, column) == SQLITE_NULL
    }

    /// A blob column of the current row, copied once (`[]` for NULL or empty).
    @inlinable
    public static func blob(_ statement: OpaquePointer, _ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(statement, column))
        guard count > 0, let bytes = sqlite3_column_blob(statement, column) else { return [] }
        return [UInt8](UnsafeRawBufferPointer(start: bytes, count: count))
    }
}
