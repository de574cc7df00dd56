import Hummingbird
import Logging
import PaneCore
import PaneRedis
import PaneRuntime
import PaneStore
import ServiceLifecycle

/// One spoke worker process: the stream consumer and the read API, as services.
public struct Spoke: Sendable {
    public let config: SpokeConfiguration
    public let store: ReplicaStore
    public let status = SpokeStatus()
    let logger: Logger

    public init(config: SpokeConfiguration, logger: Logger) throws {
        self.config = config
        self.logger = logger
        self.store = try ReplicaStore(path: config.databasePath)
    }

    /// HTTP first and the worker last: on SIGTERM the worker finishes its batch (commit, ack)
    /// while reads are still answered, then the server stops.
    public func services(extraRoutes: (@Sendable (Router<BasicRequestContext>) -> Void)? = nil) -> [any Service] {
        let router = SpokeHTTP.router(store: store, status: status)
        extraRoutes?(router)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(config.httpHost, port: config.httpPort), serverName: "pane-spoke"),
            logger: logger)
        let worker = SpokeWorker(config: config, store: store, status: status, logger: logger)
        return [app, WorkerService(worker: worker)]
    }
}
