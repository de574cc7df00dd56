import Foundation
import GRDB

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
