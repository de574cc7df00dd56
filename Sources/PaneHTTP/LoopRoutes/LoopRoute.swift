import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore
import PaneCore

/// A route answered by a plain NIO handler on its connection's event loop (``LoopRouteHandler``),
/// without Hummingbird's async channel and the Swift task it resumes per request: the hub's write
/// routes (issue 13 item 3; docs/architecture.md, "The hub's write routes on the event loop").
///
/// A route is written once, in two steps: ``start`` reads the request's head (it throws a
/// ``PaneCore/ValidationError`` for a bad id or query), and the ``LoopBody`` it returns takes the
/// body and calls back with the answer, from any thread. The same route is added to the router
/// too (``Router/loopRoute(_:)``), so an odd spelling of its path (`//v1/…`) is answered
/// alike through Hummingbird.
public struct LoopRoute: Sendable {
    public enum Path: Sendable, Equatable {
        /// A literal prefix ending in `/` and one non-empty segment (`/v1/contexts/{id}`).
        case segment(prefix: String)
        /// Exactly this path (`/v1/batch`).
        case exact(String)
    }

    public let method: HTTPRequest.Method
    public let path: Path
    /// The name of a segment's parameter in the router (`id`).
    public let parameter: String
    /// The route as the router names it (`/v1/contexts/{id}`): the `http.route` label of the
    /// request metrics.
    public let endpoint: String
    public let start: @Sendable (LoopRequest) throws -> LoopBody

    public init(
        method: HTTPRequest.Method, path: Path, parameter: String = "id", start: @escaping @Sendable (LoopRequest) throws -> LoopBody
    ) {
        self.method = method
        self.path = path
        self.parameter = parameter
        self.endpoint = Self.routerPath(path, parameter: parameter).description
        self.start = start
    }

    static func routerPath(_ path: Path, parameter: String) -> RouterPath {
        switch path {
        case .exact(let exact): return RouterPath(exact)
        case .segment(let prefix): return RouterPath(prefix + ":" + parameter)
        }
    }

    /// Whether the raw request target `target` (path and query, not decoded) starts as this
    /// route's path: only then is it parsed and matched.
    func mayMatch(_ target: String) -> Bool {
        switch path {
        case .exact(let exact): return target.utf8.starts(with: exact.utf8)
        case .segment(let prefix): return target.utf8.starts(with: prefix.utf8)
        }
    }

    /// The path's segment (the empty string for an exact path) when `path` is this route's.
    func match(_ path: String) -> Substring? {
        switch self.path {
        case .exact(let exact):
            return path == exact ? "" : nil
        case .segment(let prefix):
            guard path.utf8.count > prefix.utf8.count, path.hasPrefix(prefix) else { return nil }
            let segment = path.utf8.dropFirst(prefix.utf8.count)
            guard !segment.contains(UInt8(ascii: "/")) else { return nil }
            return Substring(segment)
        }
    }
}

/// A request's head, as a ``LoopRoute`` sees it.
public struct LoopRequest: Sendable {
    public let head: HTTPRequest
    public let uri: URI
    /// The path's segment, not yet percent-decoded (empty for an exact path).
    public let segment: Substring

    public var headers: HTTPFields { head.headerFields }

    /// The first value of query parameter `name`, percent-decoded (as ``PaneHTTP/query(_:_:)``).
    public func query(_ name: String) -> String? {
        uri.queryParameters.get(name)
    }
}

/// What a ``LoopRoute`` does with a request's body.
public struct LoopBody: Sendable {
    /// The largest body read; `nil`: the body is not read (it is drained) and ``answer`` runs
    /// at once with an empty buffer.
    public let limit: Int?
    /// The answer to a body over ``limit``, given as soon as it is over.
    public let overLimit: Answer?
    /// Takes the body and calls `done` once, from any thread.
    public let answer: @Sendable (ByteBuffer, _ done: @escaping @Sendable (Result<Answer, any Error>) -> Void) -> Void

    public init(
        limit: Int?, overLimit: Answer? = nil,
        answer: @escaping @Sendable (ByteBuffer, _ done: @escaping @Sendable (Result<Answer, any Error>) -> Void) -> Void
    ) {
        self.limit = limit
        self.overLimit = overLimit
        self.answer = answer
    }

    /// Answers `answer` at once, whatever the body.
    public static func now(_ answer: Answer) -> LoopBody {
        LoopBody(limit: nil) { _, done in done(.success(answer)) }
    }
}

extension Router {
    /// Adds `route` to the router, answered by the same code as on the event loop: the router
    /// takes the paths the loop handler leaves (`//v1/contexts/x`), and its not-found answers
    /// list the route.
    public func loopRoute(_ route: LoopRoute) {
        on(LoopRoute.routerPath(route.path, parameter: route.parameter), method: route.method) { request, context -> Response in
            let segment: Substring
            if case .segment = route.path { segment = Substring(context.parameters[Substring(route.parameter)] ?? "") } else { segment = "" }
            let body = try route.start(LoopRequest(head: request.head, uri: request.uri, segment: segment))
            var buffer = ByteBuffer()
            if let limit = body.limit {
                do {
                    buffer = try await request.body.collect(upTo: limit)
                } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
                    if let overLimit = body.overLimit { return overLimit.response }
                    throw error
                }
            }
            let answer = try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Answer, any Error>) in
                body.answer(buffer) { continuation.resume(with: $0) }
            }
            return answer.response
        }
    }
}

/// The ``LoopRoute``s of one server and what their answers share with the router's: the token
/// check (``AuthMiddleware``), the request metrics (``RequestMetricsMiddleware``), the `Date` and
/// `Server` headers Hummingbird adds, and the answers to thrown errors (400 for a
/// ``PaneCore/ValidationError``, an empty 500 for anything else).
public struct LoopRoutes: Sendable {
    let routes: [LoopRoute]
    let tokens: TokenFileWatcher?
    let serverName: String
    /// `Server: serverName`, made once.
    let serverField: HTTPField
    let metrics = RequestMetricsCache()

    public init(routes: [LoopRoute], tokens: TokenFileWatcher?, serverName: String) {
        self.routes = routes
        self.tokens = tokens
        self.serverName = serverName
        self.serverField = HTTPField(name: .server, value: serverName)
    }

    /// The route of `head` and its segment, or nil when the router is to answer it.
    func match(_ head: HTTPRequest) -> (LoopRoute, URI, Substring)? {
        guard let path = head.path else { return nil }
        var candidate = false
        // Only a path that starts as a route's does is parsed (the spoke's point reads share the
        // method of its watch route, and pay nothing for it).
        for route in routes where route.method == head.method && route.mayMatch(path) {
            candidate = true
            break
        }
        guard candidate else { return nil }
        let uri = URI(path)
        let plain = uri.path
        for route in routes where route.method == head.method {
            if let segment = route.match(plain) { return (route, uri, segment) }
        }
        return nil
    }

    /// The answer of the token check, when it refuses the request.
    func refusal(_ head: HTTPRequest, path: String) -> Answer? {
        guard let tokens else { return nil }
        return AuthMiddleware<BasicRequestContext>.refusal(tokens, method: head.method, path: path, authorization: head.headerFields[.authorization])
    }

    /// `result` as the router's middleware and Hummingbird would answer it.
    static func answer(_ result: Result<Answer, any Error>) -> (Answer, failed: Bool) {
        switch result {
        case .success(let answer):
            return (answer, false)
        case .failure(let error as ValidationError):
            return (PaneHTTP.errorAnswer(.badRequest, error.description), false)
        case .failure(let error as any HTTPResponseError) where error.status == .contentTooLarge:
            return (PaneHTTP.errorAnswer(.badRequest, "request body is over the size limit"), false)
        case .failure:
            return (Answer(status: .internalServerError, headers: [:], body: ByteBuffer()), true)
        }
    }
}
