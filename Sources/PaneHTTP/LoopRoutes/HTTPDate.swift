#if canImport(Glibc)
    import Glibc
#endif
import HTTPTypes
import Synchronization

/// The `Date` header's value (RFC 9110: `Tue, 01 Dec 2026 19:04:15 GMT`), as Hummingbird writes
/// it, made once per second for the answers of ``LoopRoute``s.
enum HTTPDate {
    private static let cache = Mutex<(second: Int, field: HTTPField)>((-1, HTTPField(name: .date, value: "")))

    /// `Date: now`, the field made once per second.
    static var field: HTTPField {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let second = now.tv_sec
        return cache.withLock { cache in
            if cache.second == second { return cache.field }
            let field = HTTPField(name: .date, value: format(second))
            cache = (second, field)
            return field
        }
    }

    static func format(_ second: Int) -> String {
        var time = time_t(second)
        var parts = tm()
        gmtime_r(&time, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
