import Foundation
import PaneApp
import PaneCore
import PaneRedis

#if canImport(Glibc)
    import Glibc
#endif

/// The load test's Redis: one ``ManagedRedis`` server, or a private Redis Cluster
/// (``RedisClusterProcess``) when the scenario has `redisCluster` (issue 14). Everything the
/// runner does to Redis goes through here, so faults, the sampler and the verdict work on both.
final class LoadRedis: @unchecked Sendable {
    /// The single server, when there is no cluster.
    let server: ManagedRedis?
    /// The cluster, when the scenario asks for one.
    let cluster: RedisClusterProcess?

    init(scenario: Scenario, directory: String) throws {
        if let plan = scenario.redisCluster {
            server = nil
            cluster = try RedisClusterProcess(
                directory: "\(directory)/redis-cluster", masters: plan.masters, replicasPerMaster: plan.replicasPerMaster,
                nodeTimeoutMs: plan.nodeTimeoutMs)
        } else {
            server = try ManagedRedis(directory: "\(directory)/redis")
            cluster = nil
        }
    }

    /// What a `pane` process is given to reach this Redis.
    var arguments: [String] {
        if let cluster { return ["--redis-cluster", cluster.seeds] }
        return ["--redis", server!.endpoint.description]
    }

    /// For the run's log.
    var description: String {
        if let cluster {
            let masters = (try? cluster.slotMap().masters.count) ?? 0
            return "Redis Cluster of \(cluster.nodes.count) nodes (\(masters) masters): \(cluster.seeds), in \(cluster.directory)"
        }
        return "redis-server \(server!.endpoint) (AOF everysec) in \(server!.directory)"
    }

    /// A connection to the server that holds `region`'s keys: the one server, or the master of
    /// the region's slot as the cluster's map says now.
    func connection(for region: Region, readTimeoutMs: Int = 5_000) throws -> RedisConnection {
        try RedisConnection(endpoint: endpoint(for: region), connectTimeoutMs: 1_000, readTimeoutMs: readTimeoutMs)
    }

    /// The address of the server that holds `region`'s keys.
    func endpoint(for region: Region) throws -> RedisEndpoint {
        guard let cluster else { return server!.endpoint }
        guard let master = try cluster.slotMap().master(of: region.keys.updates.hashSlot) else {
            throw LoadtestError.timedOut("no master of the Redis Cluster serves region \(region.name)'s slot; see \(cluster.directory)")
        }
        return RedisEndpoint(host: master.host, port: master.port)
    }

    /// `used_memory` summed over every running server (0 when none answers).
    func usedMemory() -> Int {
        let endpoints = cluster.map { $0.nodes.filter(\.child.isRunning).map(\.endpoint) } ?? [server!.endpoint]
        var total = 0
        for endpoint in endpoints {
            guard let conn = try? RedisConnection(endpoint: endpoint, connectTimeoutMs: 200, readTimeoutMs: 1_000) else { continue }
            defer { conn.close() }
            guard let info = try? conn.info("memory") else { continue }
            for line in info.split(separator: "\r\n") where line.hasPrefix("used_memory:") {
                total += Int(line.dropFirst("used_memory:".count)) ?? 0
            }
        }
        return total
    }

    /// The running servers' pids, named for the report: `redis`, or `redis-PORT` per cluster node.
    var pids: [(String, Int32)] {
        if let cluster {
            return cluster.nodes.filter(\.child.isRunning).map { ("redis-\($0.address.port)", $0.child.pid) }
        }
        return server!.pid.map { [("redis", $0)] } ?? []
    }

    func stop() {
        server?.stop()
        cluster?.stop()
    }
}
