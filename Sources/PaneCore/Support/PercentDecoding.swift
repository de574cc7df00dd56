/// Percent-decoding (`%2F` → `/`) without Foundation, for the `:id` of every context request:
/// Foundation's `removingPercentEncoding` cost a tenth of a point read.
public enum PercentDecoding {
    /// `text` with every `%XX` replaced by its byte; nil when an escape is not two hex digits
    /// or the bytes are not UTF-8 (as Foundation's `removingPercentEncoding`).
    public static func decode(_ text: String) -> String? {
        let utf8 = text.utf8
        guard utf8.contains(UInt8(ascii: "%")) else { return text }
        return utf8.withContiguousStorageIfAvailable { decode(bytes: $0) } ?? decode(bytes: Array(utf8))
    }

    static func decode<C: Collection<UInt8>>(bytes: C) -> String? where C.Index == Int {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let byte = bytes[i]
            if byte == UInt8(ascii: "%") {
                guard i + 2 < bytes.endIndex, let high = hex(bytes[i + 1]), let low = hex(bytes[i + 2])
                else { return nil }
                out.append(high << 4 | low)
                i += 3
            } else {
                out.append(byte)
                i += 1
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
