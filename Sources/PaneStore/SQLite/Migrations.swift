import Foundation
import GRDB

extension DatabasePool {
    /// Opens the pool at `path` and runs `migrator`, retrying a few times. Processes that share
    /// a file (the workers of one replica) may create it at the same moment: turning a new file
    /// to WAL can answer "database is locked" at once, without waiting for the busy timeout, and
    /// a migration can lose the race to the other process (see ``DatabaseMigrator/migrateRetrying(_:)``).
    static func openMigrated(path: String, configuration: Configuration, migrator: DatabaseMigrator) throws -> DatabasePool {
        var attempt = 0
        while true {
            do {
                let pool = try DatabasePool(path: path, configuration: configuration)
                try migrator.migrateRetrying(pool)
                return pool
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
                attempt += 1
                if attempt >= 10 { throw error }
                Thread.sleep(forTimeInterval: 0.05 * Double(attempt))
            }
        }
    }
}

extension DatabaseMigrator {
    /// Runs the migrations, retrying a few times. Processes that share a file (the workers of one
    /// replica) may open a new file at the same moment; each migration commits atomically, so the
    /// one that loses the race fails on "already exists" and finds the migration applied when it
    /// looks again.
    func migrateRetrying(_ pool: DatabasePool) throws {
        var attempt = 0
        while true {
            do {
                try migrate(pool)
                return
            } catch {
                attempt += 1
                if attempt >= 5 { throw error }
                Thread.sleep(forTimeInterval: 0.05 * Double(attempt))
            }
        }
    }
}
