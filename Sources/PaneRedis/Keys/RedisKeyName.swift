import PaneCore

/// A Redis key name. The key types (``StreamKey``, ``HashKey``, ``ListKey``, and ``RedisKey``
/// for a key of any type) conform, so each command takes the kind of key it works on and a hash
/// key cannot reach `XADD`. Pane's own keys come from ``RegionKeys``.
public protocol RedisKeyName: Hashable, Sendable, CustomStringConvertible {
    /// The key as Redis sees it.
    var rawValue: String { get }
}

extension RedisKeyName {
    public var description: String { rawValue }

    /// The key with its type forgotten, for commands that work on keys of any type.
    public var untyped: RedisKey { RedisKey(rawValue) }

    /// The hash tag: the text between the first `{` and the first `}` after it, when that text
    /// is not empty. Redis Cluster hashes only the tag, so keys with the same tag share a slot
    /// (``PaneCore/ClusterSlot``). https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#hash-tags
    public var hashTag: String? {
        let bytes = Array(rawValue.utf8)
        let tagged = ClusterSlot.hashTag(bytes)
        return tagged.count == bytes.count ? nil : String(decoding: bytes[tagged], as: UTF8.self)
    }

    /// The Redis Cluster slot (0..<16384) of this key.
    public var hashSlot: Int { ClusterSlot.of(rawValue) }
}
