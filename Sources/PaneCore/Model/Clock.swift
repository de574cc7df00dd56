import Foundation

/// Wall-clock milliseconds since the Unix epoch: the unit of `ts` and `updatedAt`.
public enum WallClock {
    public static func nowMs() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded())
    }
}
