/// The Redis Cluster hash slot of a key: CRC16 (XMODEM) of the key, or of its hash tag, modulo
/// 16,384 (https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#key-distribution-model).
///
/// Every Pane key carries its region as a hash tag (`pane:{R}:updates`), so a region's keys share
/// one slot, and one pipeline or `MULTI` for a region goes to one node.
public enum ClusterSlot {
    /// The number of hash slots in a Redis Cluster.
    public static let count = 16_384

    /// The slot of `key`.
    public static func of(_ key: String) -> Int { of(bytes: Array(key.utf8)) }

    /// The slot of a binary key.
    public static func of(bytes key: [UInt8]) -> Int {
        let tagged = hashTag(key)
        return Int(crc16(key[tagged]) & 0x3FFF)
    }

    /// The part of `key` that is hashed: the bytes between the first `{` and the first `}` after
    /// it, when that is not empty; otherwise the whole key (the spec's rule, `{}` included).
    public static func hashTag(_ key: [UInt8]) -> Range<Int> {
        guard let open = key.firstIndex(of: UInt8(ascii: "{")),
            let close = key[(open + 1)...].firstIndex(of: UInt8(ascii: "}")),
            close > open + 1
        else { return key.indices }
        return (open + 1)..<close
    }

    /// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, no reflection; what Redis uses.
    public static func crc16(_ bytes: some Sequence<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
        return crc
    }

    private static let table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        return crc
    }
}
