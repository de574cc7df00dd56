/// One way a replica differs from the hub after quiescence.
public struct Difference: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The replica, as `region/replica`.
    public var replica: String
    /// The context id.
    public var id: String
    /// The hub's version, such as `v3` or `v3(deleted)`; `nil` when the hub has no such context.
    public var hub: String?
    /// The replica's version; `nil` when the replica lacks the context.
    public var found: String?

    public init(replica: String, id: String, hub: String?, found: String?) {
        self.replica = replica
        self.id = id
        self.hub = hub
        self.found = found
    }

    public var description: String {
        "\(replica) \(id): hub \(hub ?? "missing"), replica \(found ?? "missing")"
    }
}
