import Hummingbird
import HummingbirdCore
import NIOCore
import Logging
import ServiceLifecycle

/// A process's HTTP server (Hummingbird), as a `Service`. When the server cannot start (the
/// port is taken, the address is not local, the host is unknown) it throws a ``ListenError``
/// carrying the address, so the process can say what it could not listen on. Cancelled by its
/// `ServiceGroup`, it stops at once.
public struct HTTPService: Service, CustomStringConvertible {
    public let host: String
    public let port: Int
    private let application: any Service

    /// - Parameters:
    ///   - idleTimeoutMs: a connection that sends nothing for this long is closed when no
    ///     request is in progress on it (an idle keep-alive connection) or while its request is
    ///     still being read (half-sent headers, a body that stops). A request being answered (a
    ///     blocking query that waits) is not cut. `nil`: no timeout.
    ///   - requestReadTimeoutMs: a request must be read whole, head and body, within this time of
    ///     its first byte, or the connection is closed: a client that trickles a byte now and then
    ///     resets the idle timeout but not this. `nil`: no deadline.
    ///   - maxConnections: at most this many connections at once; one more gets `503` with
    ///     `Connection: close` at once (logged, `pane_http_connections_refused_total`).
    ///
    ///   - segmentRoutes: routes of `router` matched before its trie (``SegmentRouter``).
    ///   - onEventLoops: each connection's task runs on its channel's event loop instead of the
    ///     cooperative pool (``EventLoopConnections``); for servers whose handlers never block.
    ///   - loopRoutes: routes answered by a NIO handler on the event loop, before Hummingbird
    ///     (``LoopRouteHandler``), with or without `onEventLoops`. Add each to `router` too
    ///     (``Router/loopRoute(_:)``). `tokens` guard them as ``AuthMiddleware`` does.
    ///
    /// `HEAD` is answered for every `GET` route (``HeadResponder``).
    public init(
        router: Router<BasicRequestContext>, segmentRoutes: [SegmentRoute<BasicRequestContext>] = [], host: String, port: Int,
        serverName: String, idleTimeoutMs: Int? = nil, requestReadTimeoutMs: Int? = nil, maxConnections: Int? = nil,
        onEventLoops: Bool = false, loopRoutes: [LoopRoute] = [], tokens: TokenFileWatcher? = nil, logger: Logger
    ) {
        self.host = host
        self.port = port
        let gate = ConnectionGate(server: serverName, limit: maxConnections ?? Int.max, requestReadTimeoutMs: requestReadTimeoutMs, logger: logger)
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [ConnectionGuardHandler(gate: gate)],
            idleTimeout: idleTimeoutMs.map { TimeAmount.milliseconds(Int64($0)) })
        let routes = SegmentRouter(
            routes: segmentRoutes, known: router.routes.map { ($0.method.rawValue, $0.path.description) }, base: router.buildResponder())
        let known = router.routes.map { (method: $0.method, path: $0.path.description) }
        let loop = LoopRoutes(
            routes: loopRoutes.filter { route in
                // A route whose prefix another route shares (`/v1/contexts/special`) is left to the router.
                guard case .segment(let prefix) = route.path else { return true }
                return !known.contains { $0.path != route.endpoint && $0.path.hasPrefix(prefix) && $0.path != prefix }
            },
            tokens: tokens, serverName: serverName)
        let server: HTTPServerBuilder =
            onEventLoops || !loop.routes.isEmpty
            ? .http1OnEventLoops(configuration: http1, loopRoutes: loop, tasksOnLoops: onEventLoops) : .http1(configuration: http1)
        self.application = Application(
            responder: HeadResponder(base: routes), server: server,
            configuration: .init(address: .hostname(host, port: port), serverName: serverName), logger: logger)
    }

    public var description: String { "http \(host):\(port)" }

    public func run() async throws {
        do {
            try await application.run()
        } catch where !(error is CancellationError) {
            throw ListenError(host: host, port: port, underlying: error)
        }
    }
}

/// The HTTP server could not start on `host:port`; `underlying` is NIO's error (`IOError` with
/// `EADDRINUSE` for a port another process holds).
public struct ListenError: Error, CustomStringConvertible {
    public let host: String
    public let port: Int
    public let underlying: any Error

    public init(host: String, port: Int, underlying: any Error) {
        self.host = host
        self.port = port
        self.underlying = underlying
    }

    /// Terse, for logs; `FailureMessage` (PaneApp) words the line the process prints.
    public var description: String { "ListenError(\(host):\(port)): \(underlying)" }
}
