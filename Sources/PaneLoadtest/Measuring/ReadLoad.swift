import Foundation
import Histogram
import PaneApp
import PaneCore
import Synchronization

/// An optional read load during a scenario run (`pane-loadtest run --read-rate N`): point reads
/// of the scenario's contexts (`ctx-<n>`, answered `200`, or `404` before the first write of an
/// id) at one spoke, the first worker of the first region's first replica, sent on an open-loop
/// schedule from ``connections`` threads, each with its own keep-alive connection, while the
/// writes run. Its percentiles are a read's latency under the write load (issue 13, item 2).
///
/// The latency of a read is measured from its scheduled time, so a reader that fell behind its
/// schedule (a slow answer, a busy machine) counts the wait too: the figure does not hide a
/// stalled server (no coordinated omission).
final class ReadLoad: Sendable {
    struct Figures: Sendable {
        var histogram = LatencySummary.makeHistogram()
        /// Answers `200` or `404` (an id not written yet).
        var answered = 0
        var errors = 0
        var lastError = ""
    }

    let rate: Double
    let connections: Int
    let port: Int
    let token: String
    let contexts: Int
    let seed: UInt64
    private let figures = Mutex(Figures())

    init(rate: Double, connections: Int, port: Int, token: String, contexts: Int, seed: UInt64) {
        self.rate = rate
        self.connections = connections
        self.port = port
        self.token = token
        self.contexts = contexts
        self.seed = seed
    }

    /// Starts the readers; they send until `stop`; the group is left when all have ended.
    func start(start: DispatchTime, stop: StopSignal) -> DispatchGroup {
        LoadThreads.start(connections) { [self] k in reader(k, start: start, stop: stop) }
    }

    private func reader(_ k: Int, start: DispatchTime, stop: StopSignal) {
        let probe = HTTPProbe(port: port, timeoutMs: 10_000, token: token)
        defer { probe.close() }
        var rng = SplitMix64(seed: seed &* 7_000_003 &+ UInt64(k))
        var local = LatencySummary.makeHistogram()
        var answered = 0
        var errors = 0
        var lastError = ""
        var n = k
        while !stop.isStopped {
            let due = Double(n) / rate
            let elapsed = WriteDriver.seconds(since: start)
            if due > elapsed {
                usleep(useconds_t(min(100_000, (due - elapsed) * 1e6)))
                continue
            }
            let id = "ctx-\(rng.next() % UInt64(max(1, contexts)))"
            do {
                let status = try probe.get("/v1/contexts/\(id)").status
                if status == 200 || status == 404 {
                    answered += 1
                } else {
                    errors += 1
                    lastError = "HTTP \(status)"
                }
            } catch {
                errors += 1
                lastError = "\(error)"
            }
            let micros = max(1, (WriteDriver.seconds(since: start) - due) * 1e6)
            _ = local.record(UInt64(micros))
            n += connections
        }
        figures.withLock {
            $0.histogram.add(local)
            $0.answered += answered
            $0.errors += errors
            if !lastError.isEmpty { $0.lastError = lastError }
        }
    }

    var snapshot: Figures { figures.withLock { $0 } }

    /// The report's figures, over `seconds` of reading.
    func figures(seconds: Double, target: String) -> LoadReport.ReadLoad {
        let now = snapshot
        return LoadReport.ReadLoad(
            target: target, offeredRate: rate, connections: connections, answered: now.answered, errors: now.errors,
            rate: Double(now.answered) / max(0.001, seconds), latencyMs: LatencySummary(now.histogram), lastError: now.lastError)
    }
}
