/// The name of a key that holds a hash (HSET, HGET, HGETALL …).
///
/// Pane's keys come from RegionKeys; build one from a string only for a key Pane does not
/// own (a benchmark's, one read off the wire).
public struct HashKey: RedisKeyName, RawRepresentable {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
}
