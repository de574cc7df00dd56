import HTTPTypes
import Hummingbird
import PaneCore

/// Checks the bearer token of every request against the tokens of a ``TokenFileWatcher``:
/// `401` with `WWW-Authenticate: Bearer` when the token is missing or unknown, `403` when its
/// role does not allow the request (``PaneCore/Access`` says which role each route needs).
/// `/healthz` and `/readyz` stay open.
///
/// Added to a router before any route and before any other middleware, so it also guards
/// routes added later (`/metrics`) and unknown paths, and nothing reads a body before it.
public struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let tokens: TokenFileWatcher

    public init(tokens: TokenFileWatcher) {
        self.tokens = tokens
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let access = Access.required(method: request.method.rawValue, path: request.uri.path) else {
            return try await next(request, context)
        }
        switch tokens.current.decide(access, authorization: request.headers[.authorization]) {
        case .allowed:
            return try await next(request, context)
        case .unauthorized(let reason):
            var response = PaneHTTP.error(.unauthorized, reason.message)
            response.headers[.wwwAuthenticate] =
                reason == .missing ? "Bearer realm=\"pane\"" : "Bearer realm=\"pane\", error=\"invalid_token\""
            return response
        case .forbidden(let role, let needs):
            let roles = Role.allowing(needs).map(\.rawValue).joined(separator: " or ")
            return PaneHTTP.error(.forbidden, "a \(role) token may not \(request.method.rawValue) \(request.uri.path): it needs a \(roles) token")
        }
    }
}
