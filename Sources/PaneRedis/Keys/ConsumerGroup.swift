import PaneCore

/// The name of a consumer group on a stream.
public struct ConsumerGroup: Hashable, Sendable, CustomStringConvertible, RawRepresentable {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }

    public var description: String { rawValue }

    /// `hub`: the hub's group on every `pane:{R}:resync`.
    public static let hub = ConsumerGroup("hub")

    /// `replica:<name>`: one replica's group on its region stream (``ReplicaName/group``).
    public static func replica(_ name: ReplicaName) -> ConsumerGroup { ConsumerGroup(name.group) }

    /// The replica a `replica:<name>` group belongs to; nil for any other group.
    public var replicaName: ReplicaName? {
        guard rawValue.hasPrefix(Self.replicaPrefix) else { return nil }
        guard let name = try? ReplicaName(String(rawValue.dropFirst(Self.replicaPrefix.count))), name.group == rawValue else { return nil }
        return name
    }

    private static let replicaPrefix = "replica:"
}

extension ReplicaName {
    /// The replica's consumer group on its region stream.
    public var consumerGroup: ConsumerGroup { .replica(self) }
}
