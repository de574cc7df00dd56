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
        if let refusal = Self.refusal(tokens, method: request.method, path: request.uri.path, authorization: request.headers[.authorization]) {
            return refusal.response
        }
        return try await next(request, context)
    }

    /// The answer refusing `method path` with this `Authorization` header, or nil when it may
    /// go on. Shared with the routes answered on the event loop (``LoopRoutes``).
    static func refusal(_ tokens: TokenFileWatcher, method: HTTPRequest.Method, path: String, authorization: String?) -> Answer? {
        guard let access = Access.required(method: method.rawValue, path: path) else { return nil }
        switch tokens.current.decide(access, authorization: authorization) {
        case .allowed:
            return nil
        case .unauthorized(let reason):
            var answer = PaneHTTP.errorAnswer(.unauthorized, reason.message)
            answer.headers[.wwwAuthenticate] =
                reason == .missing ? "Bearer realm=\"pane\"" : "Bearer realm=\"pane\", error=\"invalid_token\""
            return answer
        case .forbidden(let role, let needs):
            let roles = Role.allowing(needs).map(\.rawValue).joined(separator: " or ")
            return PaneHTTP.errorAnswer(.forbidden, "a \(role) token may not \(method.rawValue) \(path): it needs a \(roles) token")
        }
    }
}
