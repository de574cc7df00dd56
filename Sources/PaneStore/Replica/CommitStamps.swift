import GRDB
import GRDBSQLite
import Synchronization

/// Which commit of a replica file is the newest, by any process, read without a transaction:
/// SQLite's WAL-index header (https://sqlite.org/walformat.html, "the WAL-index header"), the
/// first 96 bytes of the `-shm` file that every connection to the file maps.
///
/// Every commit rewrites the header (its change counter `iChange` goes up by one, `mxFrame`
/// moves), and a commit is visible to readers only once it is there: the writer writes the
/// second copy, a memory barrier, then the first; a reader reads the first, a barrier, then the
/// second, and trusts them only when they are equal, as SQLite's own readers do. So two equal
/// stamps mean no commit in between, and a value read between them is the file as it is.
///
/// This is what lets a spoke answer a point read from memory (``ReplicaReader``'s users cache
/// answers per stamp) while other worker processes of the replica commit to the same file.
/// Costs two 48-byte loads, against a read transaction's two `fcntl` locks and a B-tree lookup.
public final class CommitStamps: @unchecked Sendable {
    /// The header's 48 bytes as six words; equal values: the same commit.
    public struct Stamp: Equatable, Sendable {
        let words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

        public static func == (a: Stamp, b: Stamp) -> Bool {
            a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
                && a.words.4 == b.words.4 && a.words.5 == b.words.5
        }
    }

    /// The connection whose mapping of the `-shm` file ``header`` points into. It holds the
    /// mapping (and SQLite's shared lock on the file, so the `-shm` is never removed) as long as
    /// it is open; it runs nothing after ``init(path:)``, so SQLite never unmaps it.
    private let db: OpaquePointer
    private let header: UnsafeRawPointer

    /// Opens the file read-only and maps its WAL index; `nil` when the file is not in WAL mode
    /// or its index cannot be mapped (then there is nothing to stamp: callers read every time).
    public init?(path: String) {
        var handle: OpaquePointer?
        guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK, let handle else {
            if let handle { sqlite3_close_v2(handle) }
            return nil
        }
        sqlite3_busy_timeout(handle, 5_000)
        guard let header = Self.mapHeader(handle) else {
            sqlite3_close_v2(handle)
            return nil
        }
        db = handle
        self.header = header
    }

    deinit { sqlite3_close_v2(db) }

    /// One read transaction opens the WAL and maps the index; then the VFS hands out region 0.
    private static func mapHeader(_ db: OpaquePointer) -> UnsafeRawPointer? {
        guard firstColumn(db, "PRAGMA schema_version") != nil, firstColumn(db, "PRAGMA journal_mode")?.lowercased() == "wal" else { return nil }
        var file: UnsafeMutablePointer<sqlite3_file>?
        guard sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &file) == SQLITE_OK, let file,
            let methods = file.pointee.pMethods, methods.pointee.iVersion >= 2, let map = methods.pointee.xShmMap
        else { return nil }
        var region: UnsafeMutableRawPointer?
        // 32 KiB: SQLite's region size (WALINDEX_PGSZ); region 0 starts with the header.
        guard map(file, 0, 32 * 1024, 0, &region) == SQLITE_OK, let region else { return nil }
        return UnsafeRawPointer(region)
    }

    private static func firstColumn(_ db: OpaquePointer, _ sql: String) -> String? {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else { return nil }
        defer { sqlite3_finalize(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW else { return nil }
        return RawSQLite.text(statement, 0)
    }

    /// The newest commit's stamp, or `nil` while a writer is rewriting the header (or it was
    /// never initialised): then the caller must read the file.
    public func current() -> Stamp? {
        let first = Self.load(header)
        atomicMemoryFence(ordering: .acquiring)
        let second = Self.load(header + 48)
        guard first == second, first.words.1 & 0xFF_0000_0000 != 0 else { return nil }
        return first
    }

    private static func load(_ at: UnsafeRawPointer) -> Stamp {
        Stamp(
            words: (
                at.load(as: UInt64.self), at.load(fromByteOffset: 8, as: UInt64.self), at.load(fromByteOffset: 16, as: UInt64.self),
                at.load(fromByteOffset: 24, as: UInt64.self), at.load(fromByteOffset: 32, as: UInt64.self),
                at.load(fromByteOffset: 40, as: UInt64.self)
            ))
    }
}
