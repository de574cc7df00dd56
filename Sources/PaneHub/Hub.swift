import Hummingbird
import Logging
import PaneCore
import PaneRedis
import PaneRuntime
import PaneStore
import ServiceLifecycle

/// The hub process: the store, the HTTP API and the publisher, as services.
public struct Hub: Sendable {
    public let config: HubConfiguration
    public let store: HubStore
    let logger: Logger

    public init(config: HubConfiguration, logger: Logger) throws {
        self.config = config
        self.logger = logger
        self.store = try HubStore(path: config.databasePath, regions: config.regions)
    }

    /// The services to run in one `ServiceGroup`. The group starts them in this order and, on
    /// a graceful shutdown, stops them in reverse order, each after the one before has
    /// finished: HTTP (last here) stops taking writes first, then retention and the resync
    /// worker finish their round (a snapshot is finished and announced), and the publisher
    /// (first here) stops last, after it has drained its last round.
    public func services(extraRoutes: (@Sendable (Router<BasicRequestContext>) -> Void)? = nil) -> [any Service] {
        let router = HubHTTP.router(store: store, rules: config.bodyRules)
        extraRoutes?(router)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(config.httpHost, port: config.httpPort), serverName: "pane-hub"),
            logger: logger)
        return loops() + [app]
    }

    /// The hub's long-running loops without the HTTP server, in start order: the publisher, the
    /// resync worker (snapshots and anti-entropy) and retention. Tests run these too.
    public func loops() -> [any Service] {
        let publisher = Publisher(store: store, endpoints: config.endpoints, config: config.publisher, logger: logger)
        let resync = ResyncWorker(store: store, endpoints: config.endpoints, config: config.resync, logger: logger)
        let retention = RetentionWorker(store: store, endpoints: config.endpoints, config: config.resync, logger: logger)
        return [PublisherService(publisher: publisher), ResyncService(worker: resync), RetentionService(worker: retention)]
    }
}
