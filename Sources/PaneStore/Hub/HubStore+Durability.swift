import Foundation
import GRDB
import Synchronization

extension HubStore {
    /// Makes every commit so far durable before the caller publishes rows read from them (a
    /// publish round, a snapshot): with ``HubDurability/syncBeforePublish`` an `fsync` of the WAL
    /// file; with ``HubDurability/full`` nothing, since each commit synced itself.
    ///
    /// A commit is visible to a reader only after its frames were written to the WAL file, so a
    /// sync made after the rows were read covers them. `fsync` is per file, not per descriptor:
    /// a descriptor of our own flushes the frames that SQLite's writer connection wrote. There is
    /// no "nothing new" shortcut: a commit counter bumped after the commit returns could lag a
    /// commit that a reader already sees.
    public func syncBeforePublish() throws {
        guard durability == .syncBeforePublish else { return }
        let fd = open(walPath, O_RDONLY | O_CLOEXEC)
        // No WAL file: every commit is already in the database file, synced by a checkpoint.
        if fd < 0 {
            guard errno == ENOENT else { throw DurabilityError(path: walPath, call: "open", code: errno) }
            return
        }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw DurabilityError(path: walPath, call: "fsync", code: errno) }
        walSyncCount.add(1, ordering: .relaxed)
    }

    /// How many WAL syncs ``syncBeforePublish()`` has made (0 with ``HubDurability/full``).
    public var walSyncs: UInt64 { walSyncCount.load(ordering: .relaxed) }

    /// The writer connection's `PRAGMA synchronous`: 2 (FULL) or 1 (NORMAL).
    public func writerSynchronous() throws -> Int {
        try pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }
}
