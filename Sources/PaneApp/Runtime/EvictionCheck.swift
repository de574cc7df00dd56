import Logging
import PaneCore
import PaneRedis
import PaneRuntime

/// The hub's check of its Redis servers at start (issue 10, item 5). A server that cannot be
/// reached now is not an error here: retention checks it again every minute
/// (``PaneRedis/DurabilityWatch``).
public enum EvictionCheck {
    /// Reads each distinct endpoint's durability settings, logs and exports them, and returns the
    /// refusal for the first server whose `maxmemory-policy` may evict Pane's keys, unless
    /// `allow` (`hub.allowEviction`).
    public static func atStart(endpoints: [RedisEndpoint], allow: Bool, logger: Logger) async -> ValidationError? {
        let distinct = Array(Set(endpoints)).sorted { $0.description < $1.description }
        let found =
            (try? await BlockingThread.value(name: "pane-check") { () -> [(RedisEndpoint, RedisDurability)] in
                distinct.compactMap { endpoint in
                    guard let conn = try? RedisConnection(endpoint: endpoint, connectTimeoutMs: 1_000, readTimeoutMs: 2_000) else { return nil }
                    defer { conn.close() }
                    return (try? conn.durability()).map { (endpoint, $0) }
                }
            }) ?? []
        for (endpoint, durability) in found {
            DurabilityWatch.report(durability, endpoint: endpoint, logger: logger)
            guard let problem = durability.problem, !allow else { continue }
            return ValidationError(
                input: "redis \(endpoint)", value: durability.policy,
                reason: "\(problem), or start the hub with --allow-eviction (hub.allowEviction)")
        }
        return nil
    }
}
