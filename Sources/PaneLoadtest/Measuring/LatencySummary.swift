import Histogram

/// Percentiles of end-to-end latency, in milliseconds with two decimals (the spokes log
/// microseconds; ``milliseconds(micros:)``).
public struct LatencySummary: Sendable, Equatable, Codable {
    public var count: UInt64
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var p999: Double
    public var max: Double

    public init(count: UInt64, p50: Double, p90: Double, p99: Double, p999: Double, max: Double) {
        self.count = count
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.p999 = p999
        self.max = max
    }

    /// Reads the percentiles off an HdrHistogram of microsecond values (``makeHistogram()``).
    public init(_ histogram: Histogram<UInt64>) {
        guard histogram.totalCount > 0 else {
            self.init(count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0)
            return
        }
        func ms(_ percentile: Double) -> Double { Self.milliseconds(micros: histogram.valueAtPercentile(percentile)) }
        self.init(
            count: histogram.totalCount, p50: ms(50), p90: ms(90), p99: ms(99), p999: ms(99.9),
            max: Self.milliseconds(micros: histogram.max))
    }

    /// Microseconds as milliseconds rounded to two decimals (417 µs → 0.42), the precision of
    /// every latency in `report.json`, `report.md` and the console.
    public static func milliseconds(micros: UInt64) -> Double {
        (Double(micros) / 10).rounded() / 100
    }

    /// A latency for a person: milliseconds with two decimals (`0.42`).
    public static func text(_ milliseconds: Double) -> String {
        String(format: "%.2f", milliseconds)
    }

    /// A histogram fit for microsecond latencies: 1 µs to one hour, three significant digits.
    public static func makeHistogram() -> Histogram<UInt64> {
        var histogram = Histogram<UInt64>(
            lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        histogram.autoResize = true
        return histogram
    }
}
