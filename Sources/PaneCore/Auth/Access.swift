/// What a request does, as far as tokens are concerned: the one table of which route needs
/// which role. Both HTTP APIs ask it through `PaneHTTP.AuthMiddleware`.
public enum Access: Sendable, Equatable, CustomStringConvertible {
    /// `GET`/`HEAD`: contexts, lists, watches (role `read`).
    case read
    /// `PUT`, `DELETE`, `PATCH` and `POST /v1/batch`: writing contexts (roles `write`, `admin`).
    case write
    /// `POST` (but a batch) and any other method: republish, resync (role `admin`).
    case admin
    /// `GET /metrics` (role `metrics`).
    case metrics

    /// The paths every caller may reach without a token: liveness and readiness probes.
    public static let openPaths: Set<String> = ["/healthz", "/readyz"]

    /// The batch write route: a `POST` that writes contexts, so a `write` token may send it.
    public static let batchPath = "/v1/batch"

    /// What a request with `method` on `path` (the path part of the URI, without the query)
    /// needs; `nil` for the open probes. Unknown methods and paths need a token too, so a
    /// caller without one learns nothing about the routes (401, never 404).
    public static func required(method: String, path: String) -> Access? {
        if openPaths.contains(path) { return nil }
        if path == "/metrics" { return .metrics }
        if path == batchPath && method == "POST" { return .write }
        switch method {
        case "GET", "HEAD": return .read
        case "PUT", "DELETE", "PATCH": return .write
        case "POST": return .admin
        default:
            // Methods arrive as sent; the common ones above are upper case already.
            let upper = method.uppercased()
            return upper == method ? .admin : required(method: upper, path: path)
        }
    }

    public var description: String {
        switch self {
        case .read: "read"
        case .write: "write"
        case .admin: "admin"
        case .metrics: "metrics"
        }
    }
}
