import Logging
import PaneCore
import Synchronization

/// A process's view of a Redis Cluster: its seed nodes and the slot map, shared by every client
/// of the process (each loop's ``RedisClient``s and ``ClusterClient``s), so that a `MOVED`
/// learned by one is known to all.
///
/// The map is read (`CLUSTER SLOTS`) on first use and again after ``invalidate()``: the nodes of
/// the last map are asked first (masters, then replicas), then the seeds. A map with uncovered
/// slots is not used.
public final class ClusterMap: Sendable {
    /// The nodes to ask first: `redis.cluster`'s `host:port` list.
    public let seeds: [RedisEndpoint]
    private let state = Mutex<State>(State())

    struct State {
        var map: SlotMap?
        /// Every node of the last map read, masters first: asked before the seeds, which may be
        /// the very nodes that died.
        var known: [ClusterNode] = []
    }

    public init(seeds: [RedisEndpoint]) {
        self.seeds = seeds
    }

    /// The master that serves `slot`, reading the map when there is none.
    public func master(of slot: Int, readTimeoutMs: Int = 5_000) throws(RedisError) -> ClusterNode {
        let map = try current(readTimeoutMs: readTimeoutMs)
        guard let node = map.master(of: slot) else {
            throw RedisError(.server, "CLUSTERDOWN no master serves slot \(slot) in the cluster's slot map")
        }
        return node
    }

    /// The endpoint of `node`, with the seeds' database and credentials.
    public func endpoint(_ node: ClusterNode) -> RedisEndpoint {
        var endpoint = seeds.first ?? RedisEndpoint(host: node.host)
        endpoint.host = node.host
        endpoint.port = node.port
        return endpoint
    }

    /// The map as it stands (reading it when there is none).
    public func current(readTimeoutMs: Int = 5_000) throws(RedisError) -> SlotMap {
        if let map = state.withLock({ $0.map }) { return map }
        let known = state.withLock { $0.known }.map(endpoint)
        var lastError = RedisError(.connect, "no cluster seed given (redis.cluster)")
        for candidate in known + seeds.filter({ !known.contains($0) }) {
            do {
                let conn = try RedisConnection(endpoint: candidate, connectTimeoutMs: 1_000, readTimeoutMs: readTimeoutMs)
                let fresh = try conn.clusterSlots(answeredBy: ClusterNode(host: candidate.host, port: candidate.port))
                guard fresh.uncoveredSlots == 0 else {
                    lastError = RedisError(.server, "CLUSTERDOWN \(candidate) answers a slot map with \(fresh.uncoveredSlots) slots uncovered")
                    continue
                }
                state.withLock {
                    $0.map = fresh
                    var seen = Set<ClusterNode>()
                    $0.known = (fresh.masters + fresh.ranges.flatMap(\.replicas)).filter { seen.insert($0).inserted }
                }
                return fresh
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    /// Learns what an error reply says about the map: `MOVED` moves the slot, `CLUSTERDOWN` and
    /// `TRYAGAIN` drop the map (it is read again on the next call). Returns the redirection, if
    /// the reply was one.
    @discardableResult
    public func learn(from error: RedisError, answeredBy node: ClusterNode?) -> ClusterRedirection? {
        guard error.kind == .server, let redirection = ClusterRedirection(errorReply: error.message, answeredBy: node) else { return nil }
        switch redirection {
        case .moved(let slot, let target): state.withLock { $0.map?.move(slot: slot, to: target) }
        case .ask: break
        case .retryLater: invalidate()
        }
        return redirection
    }

    /// Drops the map: a node went away (a failover may be promoting its replica).
    public func invalidate() {
        state.withLock { $0.map = nil }
    }
}
