import HTTPTypes
import Hummingbird
import PaneCore

extension Router {
    /// Answers what no route takes, in JSON: `405` with `Allow` for a known path and another
    /// method, `404` listing the routes that exist otherwise, with a hint to write `/` in an id
    /// as `%2F` when the path looks like a context id with a slash. Call it after every route
    /// is added (it lists them): the middleware it adds wraps only the not-found responder.
    public func addRouteFallback() {
        add(middleware: RouteFallbackMiddleware<Context>(routes: routes.map { ($0.method.rawValue, $0.path.description) }))
    }
}

/// The not-found answers of ``Router/addRouteFallback()``.
public struct RouteFallbackMiddleware<Context: RequestContext>: RouterMiddleware {
    let table: RouteTable

    public init(routes: [(method: String, path: String)]) {
        table = RouteTable(routes: routes)
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            switch table.miss(method: request.method.rawValue, path: request.uri.path) {
            case .methodNotAllowed(let allowed, let message):
                var response = PaneHTTP.error(.methodNotAllowed, message)
                response.headers[.allow] = allowed.joined(separator: ", ")
                return response
            case .notFound(let message):
                return PaneHTTP.error(.notFound, message)
            }
        }
    }
}
