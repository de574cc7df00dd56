/// The decimal text of an integer, formatted on the stack: what `String(value).utf8` gives,
/// without building a `String`. The checksum hashes it and the Redis encoder copies it.
public enum DecimalDigits {
    /// Calls `body` with the ASCII digits of `value` (with a leading `-` when negative), followed
    /// by `suffix` (at most 8 bytes, e.g. `"-0"` for a stream id).
    @inlinable
    public static func withDigits<R>(
        of value: Int64, suffix: StaticString = "", _ body: (UnsafeRawBufferPointer) throws -> R
    ) rethrows -> R {
        precondition(suffix.utf8CodeUnitCount <= 8, "a suffix of at most 8 bytes")
        // 24 bytes hold 20 digits and a sign, right-aligned; the suffix follows in the last 8.
        var storage: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        return try withUnsafeMutableBytes(of: &storage) { raw in
            let end = 24
            var start = end
            var magnitude = value.magnitude
            repeat {
                start -= 1
                raw[start] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 {
                start -= 1
                raw[start] = UInt8(ascii: "-")
            }
            let tail = suffix.utf8CodeUnitCount
            suffix.withUTF8Buffer { bytes in
                for i in 0..<tail { raw[end + i] = bytes[i] }
            }
            return try body(UnsafeRawBufferPointer(rebasing: raw[start..<(end + tail)]))
        }
    }
}
