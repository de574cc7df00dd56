import Foundation
import Logging
import PaneCore
import PaneRuntime

/// A Redis Cluster client for one thread: sends each call to the master that serves its slot,
/// and follows the cluster's redirections
/// (https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#redirection-and-resharding).
///
/// - The slot map comes from `CLUSTER SLOTS`, asked of the seeds and then of any known node.
/// - `MOVED`: the map learns the slot's new master and the call is sent there.
/// - `ASK`: the call is sent once to the named node after `ASKING`; the map is kept.
/// - `CLUSTERDOWN`/`TRYAGAIN`, or a connection that broke: the map is read again before the next
///   call (after a backoff), and the error is thrown: the caller's loop retries, as it does for a
///   single server that went away.
///
/// One ``RedisClient`` per node keeps the reconnect behaviour of single-server mode. Blocking and
/// not `Sendable`, like ``RedisClient``.
public final class ClusterClient {
    public let seeds: [RedisEndpoint]
    public let readTimeoutMs: Int
    /// The slot map in use; `nil` until the first call (or after a failure that calls for a refresh).
    public private(set) var map: SlotMap?
    /// How many `MOVED` and `ASK` replies were followed (a metric and a test's evidence).
    public private(set) var redirectionsFollowed = 0
    private var clients: [ClusterNode: RedisClient] = [:]
    private var backoff = Backoff()
    private let logger: Logger
    /// The most redirections one call follows before it gives up (a map that keeps changing).
    static let maxRedirections = 5

    public init(seeds: [RedisEndpoint], readTimeoutMs: Int = 5_000, logger: Logger) {
        self.seeds = seeds
        self.readTimeoutMs = readTimeoutMs
        self.logger = logger
    }

    /// The master that serves `slot`, as far as the map knows (reads the map if it has none).
    public func master(of slot: Int) throws(RedisError) -> ClusterNode {
        let map = try currentMap()
        guard let node = map.master(of: slot) else {
            throw RedisError(.server, "CLUSTERDOWN no master serves slot \(slot) in the cluster's slot map")
        }
        return node
    }

    /// Runs `body` on a connection to the master of `slot`, following redirections. Error replies
    /// inside a pipeline's result do not throw by themselves: `body` calls
    /// `replies.throwingRedirection()` so that a redirected pipeline is followed too.
    public func run<T>(slot: Int, _ body: (RedisConnection) throws(RedisError) -> T) throws(RedisError) -> T {
        var askTarget: ClusterNode?
        var lastError: RedisError?
        for _ in 0...Self.maxRedirections {
            let node: ClusterNode
            if let askTarget { node = askTarget } else { node = try master(of: slot) }
            let client = self.client(for: node)
            let asking = askTarget != nil
            askTarget = nil
            do {
                return try client.run { conn throws(RedisError) in
                    if asking { try conn.asking() }
                    return try body(conn)
                }
            } catch {
                lastError = error
                if error.breaksConnection {
                    map = nil  // the node may be gone: a replica may be taking over its slots
                    throw error
                }
                guard error.kind == .server, let redirection = ClusterRedirection(errorReply: error.message, answeredBy: node) else {
                    throw error
                }
                switch redirection {
                case .moved(let movedSlot, let target):
                    redirectionsFollowed += 1
                    map?.move(slot: movedSlot, to: target)
                    logger.debug("slot moved", metadata: ["slot": "\(movedSlot)", "node": "\(target)"])
                case .ask(_, let target):
                    redirectionsFollowed += 1
                    askTarget = target
                case .retryLater:
                    map = nil
                    let delay = backoff.next()
                    logger.warning("cluster busy, retrying", metadata: ["error": "\(error.message)", "retryInMs": "\(delay)"])
                    Thread.sleep(forTimeInterval: Double(delay) / 1000)
                    throw error
                }
            }
        }
        throw lastError ?? RedisError(.server, "too many cluster redirections for slot \(slot)")
    }

    /// Reads the slot map again now.
    public func refresh() throws(RedisError) {
        map = nil
        _ = try currentMap()
    }

    public func close() {
        for client in clients.values { client.close() }
        clients = [:]
    }

    private func client(for node: ClusterNode) -> RedisClient {
        if let existing = clients[node] { return existing }
        let client = RedisClient(endpoint: RedisEndpoint(host: node.host, port: node.port), readTimeoutMs: readTimeoutMs, logger: logger)
        clients[node] = client
        return client
    }

    private func currentMap() throws(RedisError) -> SlotMap {
        if let map { return map }
        // Known masters first (they know the newest map), then the seeds.
        let known = (clients.keys.map { RedisEndpoint(host: $0.host, port: $0.port) }).sorted { $0.description < $1.description }
        var lastError = RedisError(.connect, "no cluster seed given")
        for endpoint in known + seeds.filter({ !known.contains($0) }) {
            do {
                let conn = try RedisConnection(endpoint: endpoint, connectTimeoutMs: 1_000, readTimeoutMs: readTimeoutMs)
                let fresh = try conn.clusterSlots(answeredBy: ClusterNode(host: endpoint.host, port: endpoint.port))
                guard fresh.uncoveredSlots == 0 else {
                    lastError = RedisError(.server, "CLUSTERDOWN \(endpoint) serves a map with \(fresh.uncoveredSlots) slots uncovered")
                    continue
                }
                map = fresh
                backoff.reset()
                return fresh
            } catch {
                lastError = error
            }
        }
        throw lastError
    }
}

extension Array where Element == RESPValue {
    /// Throws the first `MOVED` or `ASK` among pipeline replies as a server error, so that
    /// ``ClusterClient/run(slot:_:)`` follows it: a pipeline for one region's slot is redirected
    /// whole (under `MOVED` none of it ran; under `ASK`, what ran at the old node is what Pane
    /// retries anyway: entries with explicit ids, idempotent hash writes).
    public func throwingRedirection() throws(RedisError) {
        for reply in self {
            if case .error(let message) = reply, message.hasPrefix("MOVED ") || message.hasPrefix("ASK ") {
                throw RedisError(.server, message)
            }
        }
    }
}
