import GRDB

extension Database {
    /// Runs `body` between `BEGIN IMMEDIATE` and `COMMIT`, both through cached statements, and
    /// rolls back when `body` or the commit throws. GRDB's `inTransaction` builds and prepares its
    /// `BEGIN` anew for every transaction: on a spoke's apply path (hundreds of transactions a
    /// second) that was 5.8% of the process's CPU in `steady` (docs/benchmarks.md, the ninth
    /// stop). For the hot write paths: the hub's group commit and batches, the replica's apply.
    func immediateTransaction<T>(_ body: () throws -> T) throws -> T {
        try cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION").execute()
        do {
            let result = try body()
            try cachedStatement(sql: "COMMIT TRANSACTION").execute()
            return result
        } catch {
            if isInsideTransaction { try? execute(sql: "ROLLBACK TRANSACTION") }
            throw error
        }
    }
}
