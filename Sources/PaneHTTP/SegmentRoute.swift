import HTTPTypes
import Hummingbird

/// A route of one method, a literal prefix and one parameter segment (`GET /v1/contexts/{id}`),
/// matched before Hummingbird's trie (``SegmentRouter``): resolving a parameter in the trie cost a
/// spoke's point read about 5% of its CPU (docs/benchmarks.md, "Issue 13 item 2"). The spoke's
/// point read takes this way (the hub's write routes are ``LoopRoute``s, answered before
/// Hummingbird altogether).
///
/// The same route is in the router too (``Router/segment(_:_:parameter:use:)``), with the same
/// middleware chain and handler: unusual spellings of the path (`//`, a trailing `/`) go through
/// the router as before, and the not-found answers still list the route.
public struct SegmentRoute<Context: RequestContext>: Sendable {
    let method: HTTPRequest.Method
    /// `/v1/contexts/`: the path up to the segment.
    let prefix: String
    let parameter: Substring
    /// `/v1/contexts/{id}`, as the router names it (the `http.route` label of the metrics).
    let endpoint: String
    /// The router's middleware chain, as it was when the route was added, around the handler.
    let responder: any HTTPResponder<Context>

    /// The parameter's value when `path` is `prefix` and one non-empty segment.
    func segment(of path: String) -> Substring? {
        guard path.utf8.count > prefix.utf8.count, path.hasPrefix(prefix) else { return nil }
        let segment = path.utf8.dropFirst(prefix.utf8.count)
        guard !segment.contains(UInt8(ascii: "/")) else { return nil }
        return Substring(segment)
    }
}

extension Router {
    /// `GET prefix:parameter` (``segment(_:_:parameter:use:)``).
    @discardableResult
    public func getSegment(
        _ prefix: String, parameter: String, use handler: @escaping @Sendable (Request, Context) async throws -> Response
    ) -> SegmentRoute<Context> {
        segment(.get, prefix, parameter: parameter, use: handler)
    }

    /// `method prefix:parameter`, added to the router as ``on(_:method:use:)`` does and returned
    /// as a ``SegmentRoute`` for ``HTTPService``: the two share this moment's middleware chain
    /// and the handler. The prefix is literal segments ending in `/`.
    @discardableResult
    public func segment(
        _ method: HTTPRequest.Method, _ prefix: String, parameter: String,
        use handler: @escaping @Sendable (Request, Context) async throws -> Response
    ) -> SegmentRoute<Context> {
        precondition(prefix.hasPrefix("/") && prefix.hasSuffix("/") && !prefix.contains(":") && !prefix.contains("*"))
        let path = RouterPath(prefix + ":" + parameter)
        on(path, method: method, use: handler)
        return SegmentRoute(
            method: method, prefix: prefix, parameter: Substring(parameter), endpoint: path.description,
            responder: middlewares.constructResponder(finalResponder: CallbackResponder(callback: handler)))
    }
}

/// Answers the ``SegmentRoute``s' requests as the router would, without its trie, and passes every
/// other request to the router. Sets what the router sets: the parameter and the endpoint path.
/// A route whose prefix another route of the router shares (`/v1/contexts/special`) is left to
/// the router, which prefers literal segments.
public struct SegmentRouter<Context: RequestContext>: HTTPResponder {
    let routes: [SegmentRoute<Context>]
    let base: any HTTPResponder<Context>

    /// - Parameter known: the router's routes (`router.routes`), to leave out segment routes whose
    ///   prefix other routes share.
    public init(routes: [SegmentRoute<Context>], known: [(method: String, path: String)], base: any HTTPResponder<Context>) {
        self.routes = routes.filter { route in
            !known.contains { $0.path != route.endpoint && $0.path.hasPrefix(route.prefix) && $0.path != route.prefix }
        }
        self.base = base
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        if !routes.isEmpty {
            let method = request.method
            for route in routes where route.method == method {
                guard let segment = route.segment(of: request.uri.path) else { continue }
                var context = context
                context.coreContext.parameters = [route.parameter: segment]
                context.coreContext.endpointPath.value = route.endpoint
                do {
                    return try await route.responder.respond(to: request, context: context)
                } catch let error as any HTTPResponseError {
                    return try error.response(from: request, context: context)
                }
            }
        }
        return try await base.respond(to: request, context: context)
    }
}
