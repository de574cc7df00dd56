import Logging
import PaneCore

/// Where a process's regions live in Redis: plain servers (a default one and per-region ones),
/// or one Redis Cluster (`redis.cluster`), where each region is one slot (its keys share the
/// `{R}` hash tag).
public enum RedisTopology: Sendable, CustomStringConvertible {
    case servers(default: RedisEndpoint, byRegion: [Region: RedisEndpoint])
    case cluster(ClusterMap)

    /// A client for `region`'s Redis: its server, or whichever cluster master holds its slot.
    public func client(for region: Region, readTimeoutMs: Int = 5_000, logger: Logger) -> RedisClient {
        switch self {
        case .servers(let fallback, let byRegion):
            return RedisClient(endpoint: byRegion[region] ?? fallback, readTimeoutMs: readTimeoutMs, logger: logger)
        case .cluster(let map):
            return RedisClient(cluster: map, slot: region.keys.updates.hashSlot, readTimeoutMs: readTimeoutMs, logger: logger)
        }
    }

    /// The regions grouped into lanes, one client each, in a stable order: per server (so one
    /// pipeline serves every region of a server), or in a cluster one lane per region, so a
    /// pipeline never mixes slots and a region whose slot moves is redirected on its own.
    public func lanes(_ regions: [Region]) -> [RedisLane] {
        switch self {
        case .servers(let fallback, let byRegion):
            let groups = Dictionary(grouping: regions) { byRegion[$0] ?? fallback }
            return groups.keys.sorted { $0.description < $1.description }.map { RedisLane(topology: self, regions: groups[$0] ?? []) }
        case .cluster:
            return regions.map { RedisLane(topology: self, regions: [$0]) }
        }
    }

    /// For logs: the default server (and how many regions have their own), or the cluster's seeds.
    public var description: String {
        switch self {
        case .servers(let fallback, let byRegion): return byRegion.isEmpty ? "\(fallback)" : "\(fallback) (+\(byRegion.count) per region)"
        case .cluster(let map): return "cluster " + map.seeds.map { "\($0.host):\($0.port)" }.joined(separator: ",")
        }
    }

    /// The servers to check at start (eviction policy): those that hold `regions`, or the
    /// cluster's seeds.
    public func endpointsToCheck(for regions: [Region]) -> [RedisEndpoint] {
        switch self {
        case .servers(let fallback, let byRegion):
            return Set(regions.map { byRegion[$0] ?? fallback }).sorted { $0.description < $1.description }
        case .cluster(let map): return map.seeds
        }
    }
}

/// Regions that share one Redis client: what the hub's loops (publisher, resync, retention)
/// run one pipeline per.
public struct RedisLane: Sendable {
    let topology: RedisTopology
    public let regions: [Region]

    /// A new client for this lane's Redis.
    public func client(readTimeoutMs: Int = 5_000, logger: Logger) -> RedisClient {
        topology.client(for: regions[0], readTimeoutMs: readTimeoutMs, logger: logger)
    }
}
