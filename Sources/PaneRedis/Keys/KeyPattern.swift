/// A glob-style key pattern for `SCAN … MATCH` and `KEYS` (`*`, `?`, `[…]`; `\` escapes).
/// https://redis.io/docs/latest/commands/keys/
public struct KeyPattern: Hashable, Sendable, CustomStringConvertible, RawRepresentable {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }

    public var description: String { rawValue }
}
