import Foundation
import Logging
import PaneCore
import PaneRuntime

/// A connection that re-makes itself: each ``run(_:)`` uses the live connection or connects
/// anew, waiting with backoff after failures. Blocking, and not `Sendable`, like
/// ``RedisConnection``: a long-running loop creates its clients on its own thread.
public final class RedisClient {
    /// The server; in cluster mode, the master of the slot as of the last connect.
    public private(set) var endpoint: RedisEndpoint
    public let readTimeoutMs: Int
    private var connection: RedisConnection?
    private var backoff = Backoff()
    private let logger: Logger
    /// In cluster mode: the process's slot map and the slot this client serves.
    private let route: (cluster: ClusterMap, slot: Int)?

    public init(endpoint: RedisEndpoint, readTimeoutMs: Int = 5_000, logger: Logger) {
        self.endpoint = endpoint
        self.readTimeoutMs = readTimeoutMs
        self.logger = logger
        self.route = nil
    }

    /// A client for whichever master serves `slot` in `cluster` (a region's slot: every key of
    /// a region shares it). It connects to the master the map names; when a call fails with a
    /// redirection (`MOVED`, `ASK`), a cluster error or a broken connection, the map learns it,
    /// the connection is dropped and the error thrown: the caller's loop retries, as after any
    /// Redis error, and the next call goes where the map now says. (``ClusterClient`` follows
    /// redirections within one call instead, for calls whose replies are read in the same call.)
    public init(cluster: ClusterMap, slot: Int, readTimeoutMs: Int = 5_000, logger: Logger) {
        self.endpoint = cluster.seeds.first ?? RedisEndpoint(host: "127.0.0.1")
        self.readTimeoutMs = readTimeoutMs
        self.logger = logger
        self.route = (cluster, slot)
    }

    /// Runs `body` on a live connection. On an error that breaks the connection, drops it so
    /// the next call reconnects (after a backoff delay), and rethrows.
    public func run<T>(_ body: (RedisConnection) throws(RedisError) -> T) throws(RedisError) -> T {
        let conn: RedisConnection
        if let existing = connection, existing.isOpen {
            conn = existing
        } else {
            connection = nil
            do {
                if let route { endpoint = route.cluster.endpoint(try route.cluster.master(of: route.slot, readTimeoutMs: readTimeoutMs)) }
                conn = try RedisConnection(endpoint: endpoint, readTimeoutMs: readTimeoutMs)
                if backoff.initialMs > 0 { backoff.reset() }
                connection = conn
                logger.debug("connected", metadata: ["redis": "\(endpoint)"])
            } catch {
                route?.cluster.invalidate()  // the master may be gone: read the map again next time
                let delay = backoff.next()
                logger.warning("redis unreachable, retrying", metadata: ["redis": "\(endpoint)", "error": "\(error)", "retryInMs": "\(delay)"])
                Thread.sleep(forTimeInterval: Double(delay) / 1000)
                throw error
            }
        }
        do {
            return try body(conn)
        } catch {
            if error.breaksConnection {
                conn.close()
                connection = nil
                route?.cluster.invalidate()  // a failover may be promoting the master's replica
            } else if let route, let redirection = route.cluster.learn(from: error, answeredBy: ClusterNode(host: endpoint.host, port: endpoint.port)) {
                logger.debug("cluster redirection", metadata: ["slot": "\(route.slot)", "redirection": "\(redirection)"])
                conn.close()
                connection = nil
            }
            throw error
        }
    }

    public func close() {
        connection?.close()
        connection = nil
    }
}
