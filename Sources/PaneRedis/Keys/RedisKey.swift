/// A key name whose type is not known or does not matter: what `SCAN` and `KEYS` return, what
/// `DEL`, `EXPIRE` and `TYPE` take (every typed key converts with ``RedisKeyName/untyped``).
public struct RedisKey: RedisKeyName, RawRepresentable {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
}
