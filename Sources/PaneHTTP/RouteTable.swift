import Foundation

/// Which answer a request that no route took gets: pure, so it is tested without a server.
public struct RouteTable: Sendable {
    public enum Miss: Sendable, Equatable {
        /// The path exists, with these methods only.
        case methodNotAllowed(allowed: [String], message: String)
        case notFound(message: String)
    }

    /// `(method, path)` with Hummingbird's captures (`:name`, or `{name}` as its paths print
    /// them), in the order given.
    public let routes: [(method: String, path: String)]

    public init(routes: [(method: String, path: String)]) {
        self.routes = routes
    }

    /// The answer for `method path`.
    public func miss(method: String, path: String) -> Miss {
        let allowed = routes.filter { Self.matches(pattern: $0.path, path: path) }.map(\.method)
        if !allowed.isEmpty {
            let methods = Array(Set(allowed)).sorted()
            return .methodNotAllowed(
                allowed: methods, message: "\(method) is not allowed on \(path): use \(methods.joined(separator: ", "))")
        }
        let listing = routes.map { "\($0.method) \(Self.display($0.path))" }.joined(separator: ", ")
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        for route in routes where route.path.hasSuffix("/:id") || route.path.hasSuffix("/{id}") {
            let prefix = route.path[...(route.path.lastIndex(of: "/") ?? route.path.startIndex)]
            if path.hasPrefix(prefix), segments.count > route.path.split(separator: "/", omittingEmptySubsequences: false).count {
                let id = path.dropFirst(prefix.count)
                let encoded = id.replacingOccurrences(of: "/", with: "%2F")
                return .notFound(
                    message: "no route for \(path): a context id with '/' must be percent-encoded, "
                        + "as in \(prefix)\(encoded); the routes are \(listing)")
            }
        }
        return .notFound(message: "no route for \(method) \(path); the routes are \(listing)")
    }

    /// `/v1/contexts/{id}` for `/v1/contexts/:id`.
    static func display(_ pattern: String) -> String {
        pattern.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix(":") ? "{\(segment.dropFirst())}" : String(segment)
        }.joined(separator: "/")
    }

    /// A segment that stands for any value: `:name` or `{name}`.
    static func isCapture(_ segment: Substring) -> Bool {
        segment.hasPrefix(":") || (segment.hasPrefix("{") && segment.hasSuffix("}"))
    }

    /// Whether `path` has `pattern`'s segments, a `:name` segment standing for any non-empty one.
    static func matches(pattern: String, path: String) -> Bool {
        let want = pattern.split(separator: "/", omittingEmptySubsequences: false)
        let have = path.split(separator: "/", omittingEmptySubsequences: false)
        guard want.count == have.count else { return false }
        return zip(want, have).allSatisfy { expected, actual in
            isCapture(expected) ? !actual.isEmpty : expected == actual
        }
    }
}
