import Hummingbird
import Logging
import PaneCore
import PaneRedis
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

    /// The services to run in one `ServiceGroup`: HTTP first, publisher last, so a graceful
    /// shutdown stops taking writes before the publisher drains its last round.
    public func services(extraRoutes: (@Sendable (Router<BasicRequestContext>) -> Void)? = nil) -> [any Service] {
        let router = HubHTTP.router(store: store, rules: config.bodyRules)
        extraRoutes?(router)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(config.httpHost, port: config.httpPort), serverName: "pane-hub"),
            logger: logger)
        let publisher = Publisher(store: store, endpoints: config.endpoints, config: config.publisher, logger: logger)
        return [app, PublisherService(publisher: publisher)]
    }
}

/// Runs the ``Publisher`` on its own thread until graceful shutdown.
struct PublisherService: Service {
    let publisher: Publisher

    func run() async throws {
        let stop = StopFlag()
        await withGracefulShutdownHandler {
            await BlockingThread.run(name: "pane-publisher") { publisher.runBlocking(stop: stop) }
        } onGracefulShutdown: {
            stop.stop()
            publisher.store.doorbell.ring()
        }
    }
}
