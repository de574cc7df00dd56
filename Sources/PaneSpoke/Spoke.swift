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
    /// The tokens of ``SpokeConfiguration/tokensFile``, kept current; `nil` without a tokens
    /// file (every request is allowed).
    public let tokens: TokenFileWatcher?
    /// Wakes reads that wait for a position when the replica's file changes.
    public let changes = ChangeSignal()
    /// Reads from the hub for `consistency=hub` and `fallback=hub`; nil without `spoke.hubURL`.
    let hub: (any HubReading)?
    let logger: Logger

    /// Reads the tokens file, if any (a ``TokenFileLoadError`` names the file and the line when
    /// it cannot), then opens (creating and migrating) the replica's SQLite file (a
    /// ``StoreOpenError`` names the path when it cannot).
    public init(config: SpokeConfiguration, logger: Logger, hub: (any HubReading)? = nil) throws {
        self.config = config
        self.logger = logger
        self.status = SpokeStatus(maxLagMs: config.maxLagMs)
        self.hub = hub
        self.tokens = try config.tokensFile.map { path throws(TokenFileLoadError) in try TokenFileWatcher(path: path, logger: logger) }
        do {
            self.store = try ReplicaStore(path: config.databasePath)
        } catch {
            throw StoreOpenError(database: "replica", path: config.databasePath, underlying: error)
        }
    }

    /// HTTP first and the worker last (the watch closer right after HTTP): on SIGTERM the worker finishes its batch (commit, ack)
    /// while reads are still answered, then the server stops. When one of them fails (the
    /// server cannot listen, the worker gives up), the group cancels the other, which stops at
    /// once, and rethrows the failure. With a tokens file, its watcher comes first (it stops
    /// last), and every route but `/healthz` and `/readyz` (the `extraRoutes` too) needs a token.
    public func services(extraRoutes: (@Sendable (Router<BasicRequestContext>) -> Void)? = nil) -> [any Service] {
        let reads = SpokeReads(region: config.region, maxWaitMs: config.maxWaitMs, changes: changes, hub: hub, status: status)
        let labels = [("region", config.region.name), ("replica", config.replica.name)]
        let watchers = WatchRegistry(limit: config.maxWatchers, changes: changes, labels: labels)
        let watch = SpokeWatch(
            store: store, reads: reads, registry: watchers, progressMs: config.watchProgressMs, writeTimeoutMs: config.watchWriteTimeoutMs,
            labels: labels, logger: logger)
        let (router, segmentRoutes) = SpokeHTTP.router(store: store, status: status, reads: reads, tokens: tokens)
        // Watches are served on the event loop (no task per watcher); the router's copy answers
        // odd spellings of the path.
        router.loopRoute(watch.route)
        extraRoutes?(router)
        router.addRouteFallback()
        let http = HTTPService(
            router: router, segmentRoutes: segmentRoutes, host: config.httpHost, port: config.httpPort, serverName: "pane-spoke",
            idleTimeoutMs: config.httpIdleTimeoutMs,
            requestReadTimeoutMs: config.httpRequestReadTimeoutMs, maxConnections: config.httpMaxConnections, loopRoutes: [watch.route],
            tokens: tokens, logger: logger)
        let worker = SpokeWorker(config: config, store: store, status: status, logger: logger)
        let watcher: [any Service] = tokens.map { [$0] } ?? []
        let changes = ReplicaChanges(path: config.databasePath, signal: changes)
        // The watch closer stops before the server (services stop in reverse order), so the
        // server's graceful shutdown does not wait on watch streams that never end.
        return watcher + [
            http, WatchCloser(registry: watchers), BlockingService("change watcher", thread: "pane-changes") { try changes.runBlocking(stop: $0) },
            BlockingService("worker", thread: "pane-worker") { try worker.runBlocking(stop: $0) },
        ]
    }
}
