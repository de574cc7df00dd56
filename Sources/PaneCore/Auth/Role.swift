/// What a token may do. A tokens file gives each token one role.
///
/// - `read`: GET (and HEAD) on the hub and the spokes: contexts, lists, watches.
/// - `write`: PUT and DELETE of contexts on the hub.
/// - `admin`: republish and resync, and everything `write` may do.
/// - `metrics`: `GET /metrics`.
///
/// The roles are not ranked: a `write` token cannot read and a `read` token cannot scrape
/// metrics. Give a client that needs both two tokens.
public enum Role: String, Sendable, CaseIterable, CustomStringConvertible {
    case read
    case write
    case admin
    case metrics

    /// Whether this role allows `action`.
    public func allows(_ action: Access) -> Bool {
        switch (self, action) {
        case (.read, .read), (.write, .write), (.admin, .write), (.admin, .admin), (.metrics, .metrics): true
        default: false
        }
    }

    /// The roles that allow `action`, for messages.
    public static func allowing(_ action: Access) -> [Role] { allCases.filter { $0.allows(action) } }

    public var description: String { rawValue }
}
