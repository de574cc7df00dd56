import Foundation
import PaneCore
import PaneRedis
import PaneRuntime

/// Everything `pane spoke` needs; defaults here, read by `PaneApp`'s configuration loader.
public struct SpokeConfiguration: Sendable {
    public var region: Region
    public var replica: ReplicaName
    /// This worker's consumer name in the replica's group; defaults to `host-pid`.
    public var consumer: String = SpokeConfiguration.defaultConsumer()
    public var redis: RedisEndpoint = RedisEndpoint(host: "127.0.0.1")
    /// A Redis Cluster that holds the region (`redis.cluster`); ``redis`` is then unused.
    public var redisCluster: ClusterMap? = nil

    /// Where the region lives in Redis.
    public var topology: RedisTopology {
        if let redisCluster { return .cluster(redisCluster) }
        return .servers(default: redis, byRegion: [:])
    }
    /// The replica's SQLite file, shared by all its workers.
    public var databasePath: String
    public var httpHost: String = "127.0.0.1"
    public var httpPort: Int = 7401
    /// The tokens file (`ROLE TOKEN` lines, ``PaneCore/TokenFile``); `nil`: no tokens, every
    /// request is allowed, which only a loopback address or ``insecureNoAuth`` permits.
    public var tokensFile: String? = nil
    /// Start on a non-loopback address without a tokens file.
    public var insecureNoAuth = false
    /// Entries per XREADGROUP (and per SQLite transaction).
    public var batchSize: Int = SpokeConfiguration.defaultBatchSize
    public static let defaultBatchSize = 500
    /// XREADGROUP BLOCK, ms; also bounds how long a graceful shutdown waits for the loop.
    public var blockMs: Int = 1_000
    public var bodyRules = BodyRules()
    /// When set, every applied update appends `seq hubCommitMs replicaCommitMs` to this file:
    /// the load-test runner's end-to-end latency source.
    public var latencyLogPath: String? = nil
    /// The dead-letter rules: deliveries before a transiently failing entry is dead-lettered.
    public var delivery = DeliveryPolicy()
    /// Entries pending on another consumer longer than this are taken over (XAUTOCLAIM).
    public var claimIdleMs: Int = 30_000
    /// Consumers idle longer than this with nothing pending are removed from the group.
    public var consumerIdleMs: Int = 3_600_000
    /// The dead-letter stream keeps at most about this many entries...
    public var deadLetterMaxLength: Int = 100_000
    /// Keep at most about this many bytes of dead letters (`dlq.maxBytes`), by Redis's estimate
    /// (`MEMORY USAGE`); 0 for no cap.
    public var deadLetterMaxBytes: Int = 256 << 20
    /// ...and none older than this.
    public var deadLetterMaxAgeMs: Int64 = 7 * 24 * 3_600_000
    /// How often the worker claims, cleans up consumers and trims the dead-letter stream.
    public var maintenanceIntervalMs: Int = 1_000
    /// How often one worker of the replica publishes the replica's digest for anti-entropy.
    public var digestIntervalMs: Int = 60_000
    /// When the replica asks the hub for a resync (stall time, request timeout, backoff).
    public var gaps = GapDetector.Settings()
    /// `/readyz` answers 503 `lagging` when the replica's watermark has been behind the hub's
    /// highest seq for longer than this, or the worker has not observed the hub for that long.
    public var maxLagMs: Int64 = SpokeConfiguration.defaultMaxLagMs
    public static let defaultMaxLagMs: Int64 = 30_000
    /// Close a connection idle this long, or whose request stalls this long while it is read,
    /// ms (`http.idleTimeoutMs`); `nil` for none.
    public var httpIdleTimeoutMs: Int? = 30_000
    /// A request must be read whole within this time of its first byte, ms
    /// (`http.requestReadTimeoutMs`); `nil` for none.
    public var httpRequestReadTimeoutMs: Int? = 10_000
    /// At most this many HTTP connections at once; more get `503` (`http.maxConnections`).
    public var httpMaxConnections = 16_384
    /// The longest a read may wait for a position or a change (`wait=`), ms (`spoke.maxWaitMs`).
    public var maxWaitMs: Int = 60_000
    /// Open `GET /v1/watch` streams this worker serves at once; more get `503` (`spoke.maxWatchers`).
    public var maxWatchers: Int = 10_000
    /// A watch sends `event: progress` after this long without another event, ms (`spoke.watchProgressMs`).
    public var watchProgressMs: Int = 5_000
    /// A watcher whose write has waited this long (it does not read) is cut off, ms
    /// (`spoke.watchWriteTimeoutMs`).
    public var watchWriteTimeoutMs: Int = 10_000
    /// The hub's HTTP address, for `consistency=hub` and `fallback=hub` (`spoke.hubURL`).
    public var hubURL: (host: String, port: Int)? = nil
    /// A file holding the token the spoke sends to the hub (`spoke.hubTokenFile`).
    public var hubTokenFile: String? = nil

    public init(region: Region, replica: ReplicaName, databasePath: String) {
        self.region = region
        self.replica = replica
        self.databasePath = databasePath
    }

    public static func defaultConsumer() -> String {
        "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
    }
}
