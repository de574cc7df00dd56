import Foundation
import GRDB
import GRDBSQLite
import PaneCore
import PaneRuntime
import Synchronization

/// The hub's authoritative store: contexts, per-region placements and the outbox, in one
/// SQLite file (WAL).
///
/// A write bumps the context's version and, in the same transaction, allocates the next `seq`
/// of every target region and appends one outbox row per region. The ``Publisher`` drains the
/// outbox into the region streams.
public final class HubStore: Sendable {
    /// The regions this hub publishes to.
    public let regions: [Region]
    let pool: DatabasePool
    /// Rung after every committed write, so the publisher wakes at once.
    public let doorbell = Doorbell()
    /// The last allocated seq of a region.
    static let lastSeqSQL = "SELECT last_seq FROM regions WHERE name = ?"
    /// Writes waiting for the next group commit.
    let pending = WriterQueue<PendingWrite>()
    /// Batches waiting for the next batch commit (``batch(_:done:)``).
    let pendingBatches = WriterQueue<PendingBatch>()
    /// The outbox's newest rows, kept in memory after their commit so the publisher need not
    /// read back what was just written (``takeFresh(region:after:limit:)``).
    let fresh = Mutex(OutboxTail())
    /// Published seqs confirmed by the publisher and not yet written to `regions.published_seq`
    /// (``persistPublished()`` writes them, and deletes the published outbox rows).
    let confirmed = Mutex<[Region: UInt64]>([:])
    /// Per region, the seq and `outbox_writes.wid` of the last row ``outbox(after:limit:)``
    /// stepped over for it: every row of the region up to that `wid` has a seq up to that one,
    /// so the next read for a later seq starts there.
    let outboxCursors = Mutex<[Region: (seq: UInt64, wid: Int64)]>([:])
    /// Passes over `outbox_writes` made by ``outbox(after:limit:)`` (tests count them).
    let outboxTableReads = Atomic<UInt64>(0)
    /// The marks last written by ``persistPublished()``.
    let persisted = Mutex<[Region: UInt64]>([:])
    /// When a commit reaches the disk.
    public let durability: HubDurability
    /// The path of the WAL file, synced by ``syncBeforePublish()``.
    let walPath: String
    /// WAL syncs ``syncBeforePublish()`` made.
    let walSyncCount = Atomic<UInt64>(0)
    /// Runs the WAL's checkpoints off the commit path.
    public let checkpointer: WALCheckpointer
    /// The writer's commit metrics (``CommitMetrics``).
    let commitMetrics = CommitMetrics()

    /// Opens (creating and migrating) the store at `path` for `regions`.
    public init(path: String, regions: [Region], durability: HubDurability = .full) throws {
        WALWriteGathering.install()
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        self.pool = try DatabasePool(path: path, configuration: config)
        // Checkpoints run in the background once the WAL holds this many pages, not in the
        // commit that crosses the mark (``WALCheckpointer``). SQLite's default (1,000) ran a
        // checkpoint and its fdatasync every few hundred writes; at 10,000 the hot pages
        // (contexts, placements) are copied back once per 10,000 frames instead of again and
        // again (docs/benchmarks.md).
        let checkpointer = WALCheckpointer(path: path, thresholdFrames: 10_000)
        self.checkpointer = checkpointer
        pool.writeWithoutTransaction { db in checkpointer.install(on: db) }
        // Only the writer's setting matters, and GRDB sets it to NORMAL when it turns WAL on,
        // after `prepareDatabase`: FULL (a WAL sync in every commit) is set here, on the writer.
        if durability == .full {
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        }
        // The writer's page cache: 64 MiB at most (SQLite's default is 2 MiB), so the pages a
        // write touches (contexts, their index, the outbox) stay in memory instead of being read
        // again with `pread` from the WAL or the file at each commit. Only the writer commits to
        // this file, so its cache stays valid from one transaction to the next.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA cache_size = -65536") }
        self.regions = regions
        self.durability = durability
        self.walPath = path + "-wal"
        try HubSchema.migrator.migrateRetrying(pool)
        hubID = try pool.write { db in
            for region in regions {
                try db.execute(sql: "INSERT OR IGNORE INTO regions(name, last_seq) VALUES (?, 0)", arguments: [region.name])
            }
            return try String.fetchOne(db, sql: "SELECT value FROM hub_meta WHERE name = 'hub_id'") ?? ""
        }
    }

    /// The identity of this database's history (16 hex digits), made when the file was created:
    /// every position token (`Pane-Index`) carries it.
    public let hubID: String

    /// The position token of `write`: the seq it got in each region it went to.
    public func position(of write: HubWrite) -> PositionToken {
        PositionToken(hub: hubID, positions: write.seqs)
    }

    /// Validates the target regions of a write: `nil` means every region. A region named twice
    /// counts once (a write gets one seq per region).
    public func targets(_ requested: [Region]?) throws(ValidationError) -> [Region] {
        guard var requested else { return regions }
        guard !requested.isEmpty else {
            throw ValidationError(input: "regions", value: "", reason: "name at least one region")
        }
        for region in requested where !regions.contains(region) {
            throw ValidationError(
                input: "regions", value: region.name,
                reason: "this hub publishes to \(regions.map(\.name).joined(separator: ",")) only")
        }
        if Set(requested).count < requested.count {
            var seen: Set<Region> = []
            requested = requested.filter { seen.insert($0).inserted }
        }
        return requested
    }

    /// Live (not deleted) ids in order, starting after `after`, limited to `prefix`: the same
    /// page as a spoke's list route, from the authoritative copy.
    public func list(prefix: String, after: String?, limit: Int) async throws -> [(id: String, version: Int64)] {
        try await pool.read { db in
            var sql = "SELECT id, version FROM contexts WHERE deleted = 0"
            var arguments: StatementArguments = []
            if let after {
                sql += " AND id > ?"
                arguments += [after]
            }
            if !prefix.isEmpty {
                sql += " AND id >= ? AND id < ?"
                arguments += [prefix, ReplicaStore.upperBound(ofPrefix: prefix)]
            }
            sql += " ORDER BY id LIMIT ?"
            arguments += [limit]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { (id: $0["id"], version: $0["version"]) }
        }
    }

    /// The authoritative copy of `id`, tombstones included.
    public func get(id: ContextID) async throws -> StoredContext? {
        try await pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT id, version, deleted, body, updated_at FROM contexts WHERE id = ?",
                arguments: [id.value]
            ).map(StoredContext.init(hubRow:))
        }
    }

    /// The region's authoritative state: every context placed in it, with version and tombstone flag.
    public func state(of region: Region) throws -> [ContextID: VersionState] {
        try pool.read { db in
            var result: [ContextID: VersionState] = [:]
            try Placement.forEach(db, region: region, extra: "NULL", ordered: false) { placement, _ in
                result[try ContextID(placement.id)] = VersionState(version: placement.version, deleted: placement.deleted)
            }
            return result
        }
    }
}

extension StoredContext {
    init(hubRow row: Row) {
        let data: Data = row["body"] ?? Data()
        self.init(
            id: row["id"], version: row["version"], deleted: row["deleted"], body: [UInt8](data),
            updatedAtMs: row["updated_at"])
    }
}
