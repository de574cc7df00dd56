import Hummingbird
import Logging
import PaneCore
import PaneHTTP
import PaneRedis
import PaneRuntime
import PaneStore
import ServiceLifecycle

/// The hub process: the store, the HTTP API and the publisher, as services.
public struct Hub: Sendable {
    public let config: HubConfiguration
    public let store: HubStore
    /// The tokens of ``HubConfiguration/tokensFile``, kept current; `nil` without a tokens file
    /// (every request is allowed).
    public let tokens: TokenFileWatcher?
    /// Whether the publisher reaches Redis, for `/readyz`.
    public let publishing = PublishHealth()
    let logger: Logger

    /// Reads the tokens file, if any (a ``TokenFileLoadError`` names the file and the line when
    /// it cannot), then opens (creating and migrating) the hub's SQLite file (a
    /// ``StoreOpenError`` names the path when it cannot).
    public init(config: HubConfiguration, logger: Logger) throws {
        self.config = config
        self.logger = logger
        self.tokens = try config.tokensFile.map { path throws(TokenFileLoadError) in try TokenFileWatcher(path: path, logger: logger) }
        do {
            self.store = try HubStore(path: config.databasePath, regions: config.regions, durability: config.durability)
        } catch {
            throw StoreOpenError(database: "hub", path: config.databasePath, underlying: error)
        }
    }

    /// The services to run in one `ServiceGroup`. The group starts them in this order and, on
    /// a graceful shutdown, stops them in reverse order, each after the one before has
    /// finished: HTTP (last here) stops taking writes first, then retention and the resync
    /// worker finish their round (a snapshot is finished and announced), and the publisher
    /// (first here) stops last, after it has drained its last round.
    ///
    /// When one service fails (the HTTP server cannot listen, a loop gives up), the group cancels
    /// the others, which stop at once, and rethrows the failure: a `ListenError` or a
    /// `LoopFailure`.
    ///
    /// With a tokens file, its watcher runs just before HTTP, and every route but `/healthz`
    /// (the `extraRoutes` too) needs a token.
    public func services(extraRoutes: (@Sendable (Router<BasicRequestContext>) -> Void)? = nil) -> [any Service] {
        let cache = StatusPageCache { [store, config, publishing] in
            try await BlockingThread.value(name: "pane-status") {
                StatusPage.gather(store: store, redis: config.redis, retention: config.resync, publishing: publishing).html
            }
        }
        let statusPage: @Sendable () async throws -> String = { try await cache.page() }
        let (router, loopRoutes) = HubHTTP.router(
            store: store, rules: config.bodyRules, batchMaxBytes: config.batchMaxBytes, publishing: publishing, tokens: tokens, statusPage: statusPage)
        extraRoutes?(router)
        router.addRouteFallback()
        let http = HTTPService(
            router: router, host: config.httpHost, port: config.httpPort, serverName: "pane-hub",
            idleTimeoutMs: config.httpIdleTimeoutMs, requestReadTimeoutMs: config.httpRequestReadTimeoutMs,
            maxConnections: config.httpMaxConnections, onEventLoops: true, loopRoutes: loopRoutes, tokens: tokens, logger: logger)
        let watcher: [any Service] = tokens.map { [$0] } ?? []
        return loops() + watcher + [http]
    }

    /// The hub's long-running loops without the HTTP server, in start order: the publisher, the
    /// resync worker (snapshots and anti-entropy) and retention. Each is a `BlockingService`
    /// (a thread of its own). Tests run these too.
    public func loops() -> [any Service] {
        let publisher = Publisher(store: store, redis: config.redis, config: config.publisher, logger: logger, health: publishing)
        let resync = ResyncWorker(store: store, redis: config.redis, config: config.resync, logger: logger)
        let retention = RetentionWorker(store: store, redis: config.redis, config: config.resync, logger: logger, health: publishing)
        let doorbell = store.doorbell
        return [
            BlockingService("publisher", thread: "pane-publisher", wake: { doorbell.ring() }) { try publisher.runBlocking(stop: $0) },
            BlockingService("resync worker", thread: "pane-resync") { try resync.runBlocking(stop: $0) },
            BlockingService("retention worker", thread: "pane-retention") { try retention.runBlocking(stop: $0) },
        ]
    }
}
