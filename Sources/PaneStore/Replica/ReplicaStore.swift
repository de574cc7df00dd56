import Foundation
import GRDB
import GRDBSQLite
import PaneCore

/// A replica's SQLite file: the contexts it serves and its position in the region stream.
///
/// Shared by every worker process of the replica (WAL, busy timeout). Writes go through one
/// transaction per batch; reads use the pool's readers and never wait on a writer.
public final class ReplicaStore: Sendable {
    let pool: DatabasePool
    public let path: String
    /// The HTTP API's reads, on read-only connections of their own.
    let reader: ReplicaReader
    /// Runs the WAL's checkpoints off the apply path.
    public let checkpointer: WALCheckpointer

    public init(path: String) throws {
        WALWriteGathering.install()
        var config = Configuration()
        // Several worker processes share the file: wait for the writer lock instead of failing.
        config.busyMode = .timeout(30)
        config.prepareDatabase { db in
            // NORMAL in WAL mode: a commit writes the WAL without an fsync; checkpoints sync. A
            // process crash loses nothing committed; a power cut or OS crash can lose the last
            // commits (acked already): the replica's applied ranges go back with them, and the
            // gap check asks the hub for a resync. A replica can always be rebuilt from the hub.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        self.path = path
        self.pool = try DatabasePool.openMigrated(path: path, configuration: config, migrator: ReplicaSchema.migrator)
        // Checkpoints run in the background, not in the batch whose commit crosses the mark
        // (``WALCheckpointer``), at SQLite's mark of 1,000 pages. At the hub's 10,000 a pass
        // copied a tenth as often (less spoke CPU in `steady`), but each pass's writeback and
        // syncs held up the hub's own commit syncs on the shared disk: `batch`'s p99 went from
        // 7.5-14 ms to 28-38 ms (docs/benchmarks.md, the sixth stop).
        let checkpointer = WALCheckpointer(path: path, thresholdFrames: Self.checkpointFrames)
        self.checkpointer = checkpointer
        pool.writeWithoutTransaction { db in checkpointer.install(on: db) }
        // The pages a batch rewrites stay cached for the next one (with one worker per replica;
        // another worker process's commit empties the cache, as it did SQLite's default 2 MiB).
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA cache_size = -\(Self.writerCacheKiB)") }
        self.reader = ReplicaReader(path: path)
    }

    /// The WAL's frames after a commit that schedule a background checkpoint (``WALCheckpointer``).
    static let checkpointFrames = 1_000
    /// The writer connection's page cache, KiB (SQLite's default: 2,048).
    static let writerCacheKiB = 16_384

    /// The apply rule in SQL: the row changes only when the incoming version is greater
    /// (``ApplyRule/decide(incoming:stored:)``). Tombstones keep their version. A row that
    /// changes takes the change number bound at `?8` (``ChangeCounter``).
    static let upsertSQL = """
        INSERT INTO contexts(id, version, deleted, body, hub_ts, applied_ts, seq, change) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(id) DO UPDATE SET version = excluded.version, deleted = excluded.deleted,
            body = excluded.body, hub_ts = excluded.hub_ts, applied_ts = excluded.applied_ts, seq = excluded.seq,
            change = excluded.change
        WHERE excluded.version > contexts.version
        """
}
