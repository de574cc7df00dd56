/// The name of a consumer inside a consumer group (one worker process, or the hub's resync
/// service).
public struct ConsumerName: Hashable, Sendable, CustomStringConvertible, RawRepresentable {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }

    public var description: String { rawValue }
}
