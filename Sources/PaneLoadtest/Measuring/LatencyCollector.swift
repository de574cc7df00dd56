import Foundation
import Histogram

/// Tails every worker's latency log and keeps per-replica, overall and per-second figures.
final class LatencyCollector: @unchecked Sendable {
    private struct Source {
        let path: String
        let label: String
        var offset: UInt64 = 0
    }

    private let lock = NSLock()
    private var sources: [Source]
    private var replicas: [String: ReplicaLatency] = [:]
    private(set) var labels: [String]
    private var overall = LatencySummary.makeHistogram()
    private var perSecond: [Int: Histogram<UInt64>] = [:]
    private var appliedPerSecond: [Int: Int] = [:]
    /// Wall-clock ms of the first write: bucket 0 starts here.
    let startMs: Int64

    init(files: [(path: String, label: String)], startMs: Int64) {
        sources = files.map { Source(path: $0.path, label: $0.label) }
        var labels: [String] = []
        for file in files where !labels.contains(file.label) { labels.append(file.label) }
        self.labels = labels
        self.startMs = startMs
        for label in labels { replicas[label] = ReplicaLatency(label: label) }
    }

    /// Reads what the logs gained since the last poll.
    func poll() {
        lock.withLock {
            for i in sources.indices {
                guard let handle = FileHandle(forReadingAtPath: sources[i].path) else { continue }
                defer { try? handle.close() }
                handle.seek(toFileOffset: sources[i].offset)
                let data = handle.readDataToEndOfFile()
                guard !data.isEmpty else { continue }
                let bytes = [UInt8](data)
                let (lines, consumed) = LatencyLogParser.parse(bytes[...])
                sources[i].offset += UInt64(consumed)
                let label = sources[i].label
                // Taken out while it records, so its histogram is not copied (copy on write).
                guard var replica = replicas.removeValue(forKey: label) else { continue }
                for line in lines {
                    guard let latency = replica.record(line) else { continue }
                    _ = overall.record(latency, count: UInt64(line.count))
                    let second = Int(max(0, line.replicaUs / 1000 - startMs) / 1000)
                    perSecond[second, default: Self.bucketHistogram()].record(latency, count: UInt64(line.count))
                    appliedPerSecond[second, default: 0] += line.count
                }
                replicas[label] = replica
            }
        }
    }

    private static func bucketHistogram() -> Histogram<UInt64> {
        var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .two)
        histogram.autoResize = true
        return histogram
    }

    func replica(_ label: String) -> ReplicaLatency? { lock.withLock { replicas[label] } }

    /// From now on, notes each of `labels`' first apply of an entry the hub committed after
    /// `committedAfterUs` (wall-clock µs): how long a fault kept new writes from a replica.
    func mark(committedAfterUs: Int64, labels: [String]) {
        lock.withLock {
            for label in labels {
                replicas[label]?.markUs = committedAfterUs
                replicas[label]?.firstApplyAfterMarkUs = nil
            }
        }
    }
    var summary: LatencySummary { lock.withLock { LatencySummary(overall) } }
    var lastApplyMs: Int64 { lock.withLock { replicas.values.map(\.lastApplyMs).max() ?? 0 } }

    /// Applied count and latency percentiles of second `second`, in ms with two decimals.
    func bucket(_ second: Int) -> (applied: Int, p50: Double, p99: Double, max: Double) {
        lock.withLock {
            guard let histogram = perSecond[second], histogram.totalCount > 0 else { return (appliedPerSecond[second] ?? 0, 0, 0, 0) }
            return (
                appliedPerSecond[second] ?? 0, LatencySummary.milliseconds(micros: histogram.valueAtPercentile(50)),
                LatencySummary.milliseconds(micros: histogram.valueAtPercentile(99)), LatencySummary.milliseconds(micros: histogram.max)
            )
        }
    }
}
