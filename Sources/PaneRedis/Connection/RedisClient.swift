import Foundation
import Logging
import PaneRuntime

/// A connection that re-makes itself: each ``run(_:)`` uses the live connection or connects
/// anew, waiting with backoff after failures. Blocking, and not `Sendable`, like
/// ``RedisConnection``: a long-running loop creates its clients on its own thread.
public final class RedisClient {
    public let endpoint: RedisEndpoint
    public let readTimeoutMs: Int
    private var connection: RedisConnection?
    private var backoff = Backoff()
    private let logger: Logger

    public init(endpoint: RedisEndpoint, readTimeoutMs: Int = 5_000, logger: Logger) {
        self.endpoint = endpoint
        self.readTimeoutMs = readTimeoutMs
        self.logger = logger
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
                conn = try RedisConnection(endpoint: endpoint, readTimeoutMs: readTimeoutMs)
                if backoff.initialMs > 0 { backoff.reset() }
                connection = conn
                logger.debug("connected", metadata: ["redis": "\(endpoint)"])
            } catch {
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
            }
            throw error
        }
    }

    public func close() {
        connection?.close()
        connection = nil
    }
}
