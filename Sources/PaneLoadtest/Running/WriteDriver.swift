import Foundation
import PaneApp
import PaneCore
import Synchronization

/// Sends the scenario's writes to the hub over HTTP from several threads, each with its own
/// keep-alive connection, on the open-loop schedule of ``WritePlan``.
final class WriteDriver: Sendable {
    struct Counts: Sendable {
        var accepted = 0
        var deletes = 0
        var deletesOfUnknownIds = 0
        var errors = 0
        /// How far behind its schedule the slowest send was, ms.
        var maxBehindMs = 0.0
        var perSecond: [Int] = []
        var lastError = ""
    }

    let scenario: Scenario
    let plan: WritePlan
    let hubPort: Int
    /// A `write` token of the hub's tokens file.
    let token: String
    private let counts = Mutex(Counts())

    init(scenario: Scenario, hubPort: Int, token: String) {
        self.scenario = scenario
        self.plan = WritePlan(scenario: scenario)
        self.hubPort = hubPort
        self.token = token
    }

    var snapshot: Counts { counts.withLock { $0 } }

    /// Runs every writer until the plan is done; returns when all have finished.
    func run(start: DispatchTime, stop: StopSignal) {
        let group = DispatchGroup()
        for k in 0..<scenario.writers {
            group.enter()
            let thread = Thread { [self] in
                writer(k, start: start, stop: stop)
                group.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        group.wait()
    }

    private func writer(_ k: Int, start: DispatchTime, stop: StopSignal) {
        let probe = HTTPProbe(port: hubPort, timeoutMs: 10_000, token: token)
        var rng = SplitMix64(seed: scenario.seed &* 1_000_003 &+ UInt64(k))
        let padding = String(repeating: "x", count: max(0, scenario.bodyBytes - 40))
        var n = k
        while !stop.isStopped {
            let elapsed = Self.seconds(since: start)
            guard plan.includes(n, elapsed: elapsed) else { break }
            let due = plan.dueSeconds(n)
            if due > elapsed {
                usleep(useconds_t(min(1_000_000, (due - elapsed) * 1e6)))
                continue
            }
            let behindMs = (elapsed - due) * 1000
            let id = "ctx-\(rng.next() % UInt64(scenario.contexts))"
            let isDelete = Double(rng.next() % 1_000_000) / 1_000_000 < scenario.deleteShare
            var status = 0
            var failure = ""
            do {
                if isDelete {
                    status = try probe.request("DELETE", "/v1/contexts/\(id)").status
                } else {
                    var body = "{\"w\":\(k),\"n\":\(n),\"pad\":\"\(padding)\"}"
                    if body.utf8.count < scenario.bodyBytes {
                        body = "{\"w\":\(k),\"n\":\(n),\"pad\":\"\(padding + String(repeating: "y", count: scenario.bodyBytes - body.utf8.count))\"}"
                    }
                    status = try probe.request("PUT", "/v1/contexts/\(id)", body: Array(body.utf8), headers: ["Content-Type": "application/json"]).status
                }
            } catch {
                failure = "\(error)"
            }
            let second = Int(Self.seconds(since: start))
            counts.withLock { c in
                c.maxBehindMs = max(c.maxBehindMs, behindMs)
                switch status {
                case 200:
                    c.accepted += 1
                    if isDelete { c.deletes += 1 }
                    while c.perSecond.count <= second { c.perSecond.append(0) }
                    c.perSecond[second] += 1
                case 404 where isDelete:
                    c.deletesOfUnknownIds += 1
                default:
                    c.errors += 1
                    c.lastError = failure.isEmpty ? "HTTP \(status)" : failure
                }
            }
            // A refused connection (the hub is down) fails at once: do not spin on it.
            if status == 0 { usleep(20_000) }
            n += scenario.writers
        }
    }

    static func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}
