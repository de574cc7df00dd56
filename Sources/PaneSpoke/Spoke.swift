import Hummingbird
import Logging
import PaneCore
import PaneHTTP
import PaneRedis
import PaneRuntime
import PaneStore
import ServiceLifecycle

/// One spoke worker process: the stream consumer and the read API, as services.
public struct Spoke: Sendable {
    public let config: SpokeConfiguration
    public let store: ReplicaStore
    public let status: SpokeStatus
    let logger: Logger

    /// Opens (creating and migrating) the replica's SQLite file; throws a ``StoreOpenError``
    /// naming the path when it cannot.
    public init(config: SpokeConfiguration, logger: Logger) throws(StoreOpenError) {
        self.config = config
        self.logger = logger
        self.status = SpokeStatus(maxLagMs: config.maxLagMs)
        do {
            self.store = try ReplicaStore(path: config.databasePath)
        } catch {
            throw StoreOpenError(database: "replica", path: config.databasePath, underlying: error)
        }
    }

    /// HTTP first and the worker last: on SIGTERM the worker finishes its batch (commit, ack)
    /// while reads are still answered, then the server stops. When one of them fails (the
    /// server cannot listen, the worker gives up), the group cancels the other, which stops at
    /// once, and rethrows the failure.
    public func services(extraRoutes: (@Sendable (Router<BasicRequestContext>) -> Void)? = nil) -> [any Service] {
        let router = SpokeHTTP.router(store: store, status: status)
        extraRoutes?(router)
        let http = HTTPService(router: router, host: config.httpHost, port: config.httpPort, serverName: "pane-spoke", logger: logger)
        let worker = SpokeWorker(config: config, store: store, status: status, logger: logger)
        return [http, BlockingService("worker", thread: "pane-worker") { try worker.runBlocking(stop: $0) }]
    }
}
