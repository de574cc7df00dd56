/// FNV-1a, 64 bits: a cheap checksum that catches corrupted or hand-made stream entries.
///
/// It is not a MAC: the Redis ACL (only the hub may XADD) is the guard against forgery.
public enum Checksum {
    public static func fnv1a64<S: Sequence>(_ bytes: S, seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64
    where S.Element == UInt8 {
        var hash = seed
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }

    /// The checksum of an entry: id, version, op and body, separated by NUL bytes. Entries
    /// that carry the hub's time in milliseconds (`ts`, before issue 13) use this one: their
    /// time is not covered.
    public static func entry(id: ContextID, version: Int64, op: ContextOp, body: [UInt8]) -> String {
        hex16(entryValue(id: id, version: version, op: op, body: body))
    }

    /// ``entry(id:version:op:body:)`` as a number: what decoding compares, without building text.
    public static func entryValue(id: ContextID, version: Int64, op: ContextOp, body: [UInt8]) -> UInt64 {
        var h = fnv1a64(id.value.utf8)
        h = fnv1a64([0], seed: h)
        h = fnv1a64(decimal: version, seed: h)
        h = fnv1a64([0], seed: h)
        h = fnv1a64(op.rawValue.utf8, seed: h)
        h = fnv1a64([0], seed: h)
        return body.withUnsafeBufferPointer { fnv1a64($0, seed: h) }
    }

    /// The checksum of an entry that carries the hub's commit time in microseconds (`tsus`):
    /// ``entryValue(id:version:op:body:)`` continued over a NUL byte and the decimal digits of
    /// `hubTimeUs`, so a changed time fails the check like a changed body.
    public static func entry(id: ContextID, version: Int64, op: ContextOp, body: [UInt8], hubTimeUs: Int64) -> String {
        hex16(entryValue(id: id, version: version, op: op, body: body, hubTimeUs: hubTimeUs))
    }

    /// ``entry(id:version:op:body:hubTimeUs:)`` as a number.
    public static func entryValue(id: ContextID, version: Int64, op: ContextOp, body: [UInt8], hubTimeUs: Int64) -> UInt64 {
        let h = fnv1a64([0], seed: entryValue(id: id, version: version, op: op, body: body))
        return fnv1a64(decimal: hubTimeUs, seed: h)
    }

    /// FNV-1a over the decimal digits of `value`, as `String(value).utf8` would give them.
    static func fnv1a64(decimal value: Int64, seed: UInt64) -> UInt64 {
        DecimalDigits.withDigits(of: value) { fnv1a64($0, seed: seed) }
    }

    /// Parses 16 lowercase hex digits (what ``hex16(_:)`` writes); `nil` for anything else.
    public static func parseHex16(_ bytes: [UInt8]) -> UInt64? {
        guard bytes.count == 16 else { return nil }
        var value: UInt64 = 0
        for byte in bytes {
            let nibble: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = byte - UInt8(ascii: "a") + 10
            default: return nil
            }
            value = value << 4 | UInt64(nibble)
        }
        return value
    }

    public static func hex16(_ value: UInt64) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8](repeating: 0, count: 16)
        var v = value
        for i in stride(from: 15, through: 0, by: -1) {
            out[i] = digits[Int(v & 0xF)]
            v >>= 4
        }
        return String(decoding: out, as: UTF8.self)
    }
}
