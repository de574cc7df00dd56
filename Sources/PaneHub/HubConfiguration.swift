import PaneCore
import PaneRedis
import PaneRuntime
import PaneStore

/// Everything `pane hub` needs. Read from flags, environment and file by `PaneApp`'s
/// configuration loader; the defaults live here.
public struct HubConfiguration: Sendable {
    /// The regions this hub publishes to.
    public var regions: [Region]
    /// The Redis of each region; regions not listed use ``defaultRedis``.
    public var redisByRegion: [Region: RedisEndpoint] = [:]
    /// The Redis used by regions without an entry in ``redisByRegion``.
    public var defaultRedis: RedisEndpoint = RedisEndpoint(host: "127.0.0.1")
    /// A Redis Cluster that holds every region (`redis.cluster`); the servers above are then unused.
    public var redisCluster: ClusterMap? = nil
    /// The authoritative SQLite file.
    public var databasePath: String = "hub.sqlite"
    /// Close a connection idle this long, or whose request stalls this long while it is read,
    /// ms (`http.idleTimeoutMs`); `nil` for none.
    public var httpIdleTimeoutMs: Int? = 30_000
    /// A request must be read whole within this time of its first byte, ms
    /// (`http.requestReadTimeoutMs`); `nil` for none.
    public var httpRequestReadTimeoutMs: Int? = 10_000
    /// At most this many HTTP connections at once; more get `503` (`http.maxConnections`).
    public var httpMaxConnections = 16_384
    /// HTTP listen address.
    public var httpHost: String = "127.0.0.1"
    public var httpPort: Int = 7400
    /// The tokens file (`ROLE TOKEN` lines, ``PaneCore/TokenFile``); `nil`: no tokens, every
    /// request is allowed, which only a loopback address or ``insecureNoAuth`` permits.
    public var tokensFile: String? = nil
    /// Start on a non-loopback address without a tokens file.
    public var insecureNoAuth = false
    /// Start even when a Redis may evict keys (`hub.allowEviction`): the hub then only logs it.
    public var allowEviction = false
    /// When a commit reaches the disk (`hub.durability`); no row is published before it does.
    public var durability = HubDurability.full
    /// Limits on context bodies.
    public var bodyRules = BodyRules()
    /// The largest body of a `POST /v1/batch`, in bytes (`http.batchMaxBytes`).
    public var batchMaxBytes = HubHTTP.defaultBatchMaxBytes
    public var publisher = PublisherConfiguration()
    /// Resync, anti-entropy and retention.
    public var resync = ResyncConfiguration()

    public init(regions: [Region]) {
        self.regions = regions
    }

    /// Where the regions live in Redis: ``redisCluster`` when set, else the servers.
    public var redis: RedisTopology {
        if let redisCluster { return .cluster(redisCluster) }
        return .servers(default: defaultRedis, byRegion: redisByRegion)
    }
}
