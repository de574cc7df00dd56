import Foundation
import GRDB
import Synchronization

extension HubStore {
    /// Records that a write transaction that the publisher may send has committed.
    func noteCommit() {
        commits.add(1, ordering: .releasing)
    }

    /// Makes every commit so far durable before the publisher sends rows from it: with
    /// ``HubDurability/syncBeforePublish`` an `fsync` of the WAL file when something was
    /// committed since the last one; with ``HubDurability/full`` nothing, since each commit
    /// synced itself. `fsync` is per file, not per descriptor, so a descriptor of our own flushes
    /// the frames that SQLite's writer connection wrote.
    public func syncBeforePublish() throws {
        guard durability == .syncBeforePublish else { return }
        // Commits counted here finished before this read, so the sync below covers them.
        let target = commits.load(ordering: .acquiring)
        try syncedCommits.withLock { synced in
            guard target > synced else { return }
            let fd = open(walPath, O_RDONLY | O_CLOEXEC)
            // No WAL file: every commit is already in the database file, synced by a checkpoint.
            if fd < 0 {
                guard errno == ENOENT else { throw DurabilityError(path: walPath, call: "open", code: errno) }
                synced = target
                return
            }
            defer { close(fd) }
            guard fsync(fd) == 0 else { throw DurabilityError(path: walPath, call: "fsync", code: errno) }
            synced = target
            walSyncCount.add(1, ordering: .relaxed)
        }
    }

    /// How many WAL syncs ``syncBeforePublish()`` has made (0 with ``HubDurability/full``).
    public var walSyncs: UInt64 { walSyncCount.load(ordering: .relaxed) }

    /// The writer connection's `PRAGMA synchronous`: 2 (FULL) or 1 (NORMAL).
    public func writerSynchronous() throws -> Int {
        try pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }
}
