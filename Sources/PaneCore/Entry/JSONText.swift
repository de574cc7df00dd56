import Foundation

/// Small helpers to write JSON by hand where a body must be embedded as written.
public enum JSONText {
    /// `text` as a JSON string literal, quotes included.
    public static func quote(_ text: String) -> String {
        // Ids and most messages need no escape: one copy, no scalar loop.
        if isPlain(text) { return "\"" + text + "\"" }
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Whether `text` is its own JSON string literal between quotes: printable ASCII without
    /// `"` or a backslash. Ids and most messages are; ``quote(_:)`` then only adds the quotes.
    public static func isPlain(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
    }

    /// Milliseconds since the epoch as an ISO 8601 timestamp with milliseconds, in UTC:
    /// `1970-01-01T00:00:00.000Z`.
    public static func iso8601(ms: Int64) -> String {
        var out: [UInt8] = []
        appendISO8601(ms: ms, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// ``iso8601(ms:)``'s bytes, appended to `out` without a formatter: a read answers with one
    /// per request, and Foundation's date formatting cost more than the SQLite read. Years 1970
    /// to 9999 by civil-date arithmetic (Howard Hinnant's `civil_from_days`); others, which only
    /// a forged entry could carry, through Foundation.
    public static func appendISO8601(ms: Int64, to out: inout [UInt8]) {
        let dayMs: Int64 = 86_400_000
        // From 1970 to 9999-12-31T23:59:59.999 (253_402_300_799_999 ms). Before 1970 only a forged
        // entry has a time, and Foundation's calendar turns Julian before 1582.
        guard ms >= 0, ms <= 253_402_300_799_999 else {
            let date = Date(timeIntervalSince1970: Double(ms) / 1000)
            out += Array(
                date.formatted(
                    .iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true).timeSeparator(.colon)
                        .timeZone(separator: .omitted)
                ).utf8)
            return
        }
        var days = ms / dayMs
        var inDay = ms % dayMs
        if inDay < 0 {
            inDay += dayMs
            days -= 1
        }
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func digits(_ value: Int64, _ count: Int) {
            var divisor: Int64 = 1
            for _ in 1..<count { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(rest / divisor))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(year, 4)
        out.append(UInt8(ascii: "-"))
        digits(month, 2)
        out.append(UInt8(ascii: "-"))
        digits(day, 2)
        out.append(UInt8(ascii: "T"))
        digits(inDay / 3_600_000, 2)
        out.append(UInt8(ascii: ":"))
        digits(inDay / 60_000 % 60, 2)
        out.append(UInt8(ascii: ":"))
        digits(inDay / 1000 % 60, 2)
        out.append(UInt8(ascii: "."))
        digits(inDay % 1000, 3)
        out.append(UInt8(ascii: "Z"))
    }
}
