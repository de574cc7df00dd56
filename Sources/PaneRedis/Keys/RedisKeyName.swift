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
    /// is not empty. Redis Cluster hashes only the tag, so keys with the same tag share a slot.
    /// https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#hash-tags
    public var hashTag: String? {
        let utf8 = rawValue.utf8
        guard let open = utf8.firstIndex(of: UInt8(ascii: "{")) else { return nil }
        let start = utf8.index(after: open)
        guard let close = utf8[start...].firstIndex(of: UInt8(ascii: "}")), close > start else { return nil }
        return String(rawValue[start..<close])
    }

    /// The Redis Cluster slot (0..<16384): CRC16 (XMODEM) of the hash tag, or of the whole key
    /// when it has none.
    public var hashSlot: Int {
        var crc: UInt16 = 0
        for byte in (hashTag ?? rawValue).utf8 {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        }
        return Int(crc) & 16_383
    }
}
