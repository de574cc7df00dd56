import Foundation

/// Wall-clock time since the Unix epoch: milliseconds are the unit of `updatedAt` and of the
/// stores' time columns; microseconds the unit of the hub's commit time in a stream entry
/// (`tsus`), so that the spoke can measure sub-millisecond replication latency.
public enum WallClock {
    public static func nowMs() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded())
    }

    /// Microseconds since the Unix epoch. A `Double` of seconds since 1970 resolves about a
    /// quarter of a microsecond today, fine enough for this unit.
    public static func nowUs() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1_000_000).rounded())
    }
}
