import Foundation
import PaneCore
import PaneHub
import PaneRedis
import PaneStore

#if canImport(Glibc)
    import Glibc
#endif

/// Once a second: reads the latency logs, samples Redis memory, each process's RSS and CPU,
/// each replica's lag, and prints the progress line on stderr.
final class Sampler: @unchecked Sendable {
    struct Sample {
        var redisMemory = 0
        var lag = 0
        var rssKB: [String: Int] = [:]
        var cpuPercent: [String: Double] = [:]
    }

    let cluster: Cluster
    let collector: LatencyCollector
    let driver: WriteDriver
    let hubStore: HubStore
    let showProgress: Bool
    private let lock = NSLock()
    private var samples: [Int: Sample] = [:]
    private var tracker = ResourceTracker()
    private(set) var redisMaxMemory = 0
    private(set) var lags: [String: Int] = [:]

    init(cluster: Cluster, collector: LatencyCollector, driver: WriteDriver, hubStore: HubStore, showProgress: Bool) {
        self.cluster = cluster
        self.collector = collector
        self.driver = driver
        self.hubStore = hubStore
        self.showProgress = showProgress
    }

    func sample(at second: Int) -> Sample? { lock.withLock { samples[second] } }
    var resources: ResourceTracker { lock.withLock { tracker } }
    var maxMemory: Int { lock.withLock { redisMaxMemory } }

    func run(start: DispatchTime, stop: StopSignal) {
        var tick = 1
        let tty = isatty(2) != 0
        while !stop.isStopped {
            let due = Double(tick)
            while WriteDriver.seconds(since: start) < due && !stop.isStopped { usleep(20_000) }
            if stop.isStopped { break }
            collector.poll()
            let sample = takeSample()
            lock.withLock { samples[tick - 1] = sample }
            if showProgress && (tty || tick % 5 == 0) {
                let line = progressLine(elapsed: WriteDriver.seconds(since: start), lag: sample.lag)
                FileHandle.standardError.write(Data((tty ? "\r\u{1B}[K" + line : line + "\n").utf8))
            }
            tick += 1
        }
    }

    private func takeSample() -> Sample {
        var sample = Sample()
        sample.redisMemory = cluster.redis.usedMemory()
        var lags: [String: Int] = [:]
        for file in cluster.replicaFiles {
            guard let region = try? Region(file.region), let last = try? hubStore.lastSeq(region: region) else { continue }
            let applied = collector.replica(file.label)?.maxSeq ?? 0
            lags[file.label] = Int(last) - Int(min(applied, last))
        }
        sample.lag = lags.values.max() ?? 0
        var processes: [(String, Int32)] = []
        processes += cluster.redis.pids
        if let pid = cluster.hubPid { processes.append(("hub", pid)) }
        for worker in cluster.workers { if let pid = worker.pid { processes.append((worker.name, pid)) } }
        // The runner itself (writers, sampler) shares the machine with what it measures.
        processes.append(("pane-loadtest", getpid()))
        lock.withLock {
            for (name, pid) in processes {
                if let figures = tracker.sample(name: name, pid: pid) {
                    sample.rssKB[name] = figures.rssKB
                    sample.cpuPercent[name] = (figures.cpu * 1000).rounded() / 10
                }
            }
            redisMaxMemory = max(redisMaxMemory, sample.redisMemory)
            self.lags = lags
        }
        return sample
    }

    private func progressLine(elapsed: Double, lag: Int) -> String {
        let writes = driver.snapshot
        let labels = collector.labels
        let applied = labels.map { collector.replica($0)?.applied ?? 0 }
        let appliedText: String
        if labels.count <= 4 {
            appliedText = zip(labels, applied).map { "\($0) \($1)" }.joined(separator: " ")
        } else {
            appliedText = "\(labels.count) replicas min \(applied.min() ?? 0) max \(applied.max() ?? 0)"
        }
        let p99 = collector.summary.p99
        return String(
            format: "[%6.1fs] writes %d (err %d) | applied %@ | lag %d | p99 %.2f ms", elapsed, writes.accepted, writes.errors,
            appliedText, lag, p99)
    }
}
