import GRDB
import PaneRuntime

/// SQLite errors, as the long-running loops and the executable see them.
public enum StoreErrors {
    /// Whether `error` is a SQLite error meaning the file cannot be used as it is: it cannot be
    /// opened (`SQLITE_CANTOPEN`), is not a database (`NOTADB`) or is corrupt (`CORRUPT`), is
    /// read-only (`READONLY`), the disk failed (`IOERR`) or is full (`FULL`). A loop stops when
    /// such an error persists (``FailureStreak``).
    public static func leavesFileUnusable(_ error: any Error) -> Bool {
        guard let error = error as? DatabaseError else { return false }
        switch error.resultCode {
        case .SQLITE_CANTOPEN, .SQLITE_NOTADB, .SQLITE_CORRUPT, .SQLITE_READONLY, .SQLITE_IOERR, .SQLITE_FULL: return true
        default: return false
        }
    }

    /// SQLite's own words for `error` ("unable to open database file"), without GRDB's SQL and
    /// arguments; `nil` when `error` is not a SQLite error.
    public static func reason(_ error: any Error) -> String? {
        guard let error = error as? DatabaseError else { return nil }
        return error.message ?? "SQLite error \(error.resultCode.rawValue)"
    }
}

extension DatabaseError: ClassifiedError {
    /// ``FailureKind/unusableStore`` for the errors ``StoreErrors/leavesFileUnusable(_:)``
    /// names, ``FailureKind/unexpected`` for the others (a busy timeout, a constraint).
    public var failureKind: FailureKind { StoreErrors.leavesFileUnusable(self) ? .unusableStore : .unexpected }
}

/// A store's file could not be opened, created or migrated: which store, the path, and SQLite's
/// error.
public struct StoreOpenError: Error, CustomStringConvertible {
    /// `hub` or `replica`.
    public let database: String
    public let path: String
    public let underlying: any Error

    public init(database: String, path: String, underlying: any Error) {
        self.database = database
        self.path = path
        self.underlying = underlying
    }

    /// Terse, for logs; `FailureMessage` (PaneApp) words the line the process prints.
    public var description: String { "StoreOpenError(\(database) \(path)): \(underlying)" }
}
