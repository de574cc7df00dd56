import Foundation
import PaneCore

/// Settings of the hub's resync, anti-entropy and retention loop (``ResyncWorker``).
public struct ResyncConfiguration: Sendable {
    /// How often the hub compares the replicas' digests with its own (`hub.antiEntropyIntervalMs`).
    public var antiEntropyIntervalMs: Int = 60_000
    /// How long a snapshot stays in Redis (`hub.snapshotTtlSeconds`).
    public var snapshotTtlSeconds: Int = 3_600
    /// A replica whose heartbeat is older than this no longer holds back trimming (`hub.replicaTimeoutMs`).
    public var replicaTimeoutMs: Int = 300_000
    /// Keep at most this many entries per region stream, even if a live replica has not read
    /// them (`hub.retentionMaxEntries`); 0 for no cap.
    public var retentionMaxEntries: Int = 1_000_000
    /// Keep at most about this many bytes in a region stream (`hub.retentionMaxBytes`), by
    /// Redis's estimate (`MEMORY USAGE`); 0 for no cap. Trimmed like the entry cap, to whichever
    /// keeps fewer entries.
    public var retentionMaxBytes: Int = 1 << 30
    /// Keep no entry published longer ago than this, even if a live replica has not read it
    /// (`hub.retentionMaxAgeSeconds`); 0 for no cap.
    public var retentionMaxAgeSeconds: Int = 86_400
    /// How often retention and the lost-data check run, per region (`hub.retentionIntervalMs`).
    public var retentionIntervalMs: Int = 5_000
    /// At most this many snapshots per region in any 60 s (`hub.maxSnapshotsPerMinute`); requests
    /// past it wait (``ResyncThrottle``).
    public var maxSnapshotsPerMinute: Int = 20
    /// A snapshot served for a replica holds back that replica's next request until its
    /// heartbeat reports it done, or for this long (as the replica's own `spoke.resyncTimeoutMs`).
    public var resyncPendingTimeoutMs: Int64 = 60_000
    /// Rows per snapshot chunk (one RPUSH each). A chunk also closes at about ``chunkBytes``.
    public var chunkRows: Int = 2_000
    public var chunkBytes: Int = 8 << 20
    /// How long one XREADGROUP on the resync streams blocks.
    public var blockMs: Int = 200
    /// Approximate cap on each `pane:{R}:resync` stream.
    public var requestStreamMaxLength: Int = 10_000
    /// The hub's consumer name in the `hub` group of every `pane:{R}:resync`.
    public var consumer: String = "hub-\(ProcessInfo.processInfo.processIdentifier)"

    public init() {}

    /// The throttle's settings.
    var throttle: ResyncThrottle.Settings {
        ResyncThrottle.Settings(maxSnapshotsPerMinute: maxSnapshotsPerMinute, pendingTimeoutMs: resyncPendingTimeoutMs)
    }
}
