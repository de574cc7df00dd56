import Logging
import Metrics
import PaneCore

/// Reads a Redis server's durability settings (``PaneCore/RedisDurability``) once a minute from
/// a loop that already holds a client (the hub's retention, each spoke worker): a server whose
/// `maxmemory-policy` may evict Pane's keys is logged as an error every time it is checked, and
/// exported as `pane_redis_evicts{redis} 1`.
public struct DurabilityWatch: Sendable {
    public var intervalMs: Int64 = 60_000
    private var lastCheckMs: Int64 = 0

    public init() {}

    /// Checks when the interval has passed; Redis errors are left to the next check.
    public mutating func checkIfDue(_ client: RedisClient, nowMs: Int64, logger: Logger) {
        guard nowMs - lastCheckMs >= intervalMs else { return }
        lastCheckMs = nowMs
        guard let durability = try? client.run({ conn throws(RedisError) in try conn.durability() }) else { return }
        Self.report(durability, endpoint: client.endpoint, logger: logger)
    }

    /// Logs and exports what `durability` means for `endpoint`.
    public static func report(_ durability: RedisDurability, endpoint: RedisEndpoint, logger: Logger) {
        Gauge(label: "pane_redis_evicts", dimensions: [("redis", endpoint.description)]).record(durability.evicts ? 1 : 0)
        if let problem = durability.problem {
            logger.error("redis may lose data: \(problem)", metadata: ["redis": "\(endpoint)"])
        }
    }
}
