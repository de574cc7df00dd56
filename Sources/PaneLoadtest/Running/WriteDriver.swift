import Foundation
import Histogram
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
        /// Batches accepted (`batchSize` above 1): each is one stream entry per region.
        var batches = 0
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
    /// The client's view of accepted write requests (a batch is one request), in µs: from each
    /// request's scheduled time to its answer (a writer behind its schedule counts the wait, no
    /// coordinated omission), and from its send to its answer (the hub's service time).
    private let answers = Mutex((scheduled: LatencySummary.makeHistogram(), service: LatencySummary.makeHistogram()))

    init(scenario: Scenario, hubPort: Int, token: String) {
        self.scenario = scenario
        self.plan = WritePlan(scenario: scenario)
        self.hubPort = hubPort
        self.token = token
    }

    var snapshot: Counts { counts.withLock { $0 } }

    /// Percentiles of accepted write requests, from their scheduled time and from their send, to
    /// the hub's answer; complete once ``run(start:stop:)`` returned.
    var answerLatency: (scheduled: LatencySummary, service: LatencySummary) {
        answers.withLock { (LatencySummary($0.scheduled), LatencySummary($0.service)) }
    }

    /// Runs every writer until the plan is done; returns when all have finished.
    func run(start: DispatchTime, stop: StopSignal) {
        LoadThreads.start(scenario.writers) { [self] k in writer(k, start: start, stop: stop) }.wait()
    }

    private func writer(_ k: Int, start: DispatchTime, stop: StopSignal) {
        let probe = HTTPProbe(port: hubPort, timeoutMs: 10_000, token: token)
        var rng = SplitMix64(seed: scenario.seed &* 1_000_003 &+ UInt64(k))
        let bodies = WriteBody(bodyBytes: scenario.bodyBytes)
        var body: [UInt8] = []
        var scheduled = LatencySummary.makeHistogram()
        var service = LatencySummary.makeHistogram()
        defer {
            answers.withLock {
                $0.scheduled.add(scheduled)
                $0.service.add(service)
            }
        }
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
            let sentAt = Self.seconds(since: start)
            var sent: Sent
            if scenario.batchSize > 1 {
                sent = sendBatch(probe, k: k, n: n, rng: &rng, bodies: bodies)
            } else {
                let path = "/v1/contexts/ctx-\(rng.next() % UInt64(scenario.contexts))"
                let isDelete = Double(rng.next() % 1_000_000) / 1_000_000 < scenario.deleteShare
                sent = Sent(writes: 1, deletes: isDelete ? 1 : 0)
                do {
                    if isDelete {
                        sent.status = try probe.request("DELETE", path).status
                    } else {
                        bodies.write(k: k, n: n, into: &body)
                        sent.status = try probe.request("PUT", path, body: body, headers: Self.jsonHeaders).status
                    }
                } catch {
                    sent.failure = "\(error)"
                }
                if sent.status == 404 && isDelete {
                    sent = Sent(writes: 0, deletes: 0, unknownDeletes: 1, status: 200)
                }
            }
            let status = sent.status
            let answeredAt = Self.seconds(since: start)
            if status == 200 && sent.writes > 0 {
                _ = scheduled.record(UInt64(max(1, (answeredAt - due) * 1e6)))
                _ = service.record(UInt64(max(1, (answeredAt - sentAt) * 1e6)))
            }
            let second = Int(answeredAt)
            counts.withLock { c in
                c.maxBehindMs = max(c.maxBehindMs, behindMs)
                c.deletesOfUnknownIds += sent.unknownDeletes
                switch status {
                case 200:
                    c.accepted += sent.writes
                    if scenario.batchSize > 1 && sent.writes > 0 { c.batches += 1 }
                    c.deletes += sent.deletes
                    while c.perSecond.count <= second { c.perSecond.append(0) }
                    c.perSecond[second] += sent.writes
                default:
                    c.errors += 1
                    c.lastError = sent.failure.isEmpty ? "HTTP \(status)" : sent.failure
                }
            }
            // A refused connection (the hub is down) fails at once: do not spin on it.
            if status == 0 { usleep(20_000) }
            n += scenario.writers
        }
    }

    /// What one request did: the writes it carried (a batch's, or one), deletes among them,
    /// and deletes of unknown ids left out (a single DELETE's 404, a batch's dropped operations).
    struct Sent {
        var writes: Int
        var deletes: Int
        var unknownDeletes = 0
        var status = 0
        var failure = ""
    }

    static let jsonHeaders = ["Content-Type": "application/json"]

    /// Sends batch `n`: `batchSize` distinct contexts, each deleted with the scenario's share.
    /// A batch is all or nothing, so a delete of a context that does not exist (404, naming
    /// its index) is left out and the rest sent again.
    private func sendBatch(_ probe: HTTPProbe, k: Int, n: Int, rng: inout SplitMix64, bodies: WriteBody) -> Sent {
        var ids = Set<UInt64>()
        var operations: [(text: String, isDelete: Bool)] = []
        let body = String(decoding: bodies.bytes(k: k, n: n), as: UTF8.self)
        while operations.count < scenario.batchSize {
            let id = rng.next() % UInt64(scenario.contexts)
            guard ids.insert(id).inserted else { continue }
            let isDelete = Double(rng.next() % 1_000_000) / 1_000_000 < scenario.deleteShare
            operations.append(
                isDelete ? ("{\"op\":\"delete\",\"id\":\"ctx-\(id)\"}", true) : ("{\"op\":\"put\",\"id\":\"ctx-\(id)\",\"body\":\(body)}", false))
        }
        var sent = Sent(writes: 0, deletes: 0)
        while !operations.isEmpty {
            let payload = Array(("[" + operations.map(\.text).joined(separator: ",") + "]").utf8)
            let reply: HTTPProbe.Reply
            do {
                reply = try probe.request("POST", "/v1/batch", body: payload, headers: Self.jsonHeaders)
            } catch {
                sent.failure = "\(error)"
                sent.status = 0
                return sent
            }
            sent.status = reply.status
            if reply.status == 404, let index = Self.refusedIndex(reply.body), operations.indices.contains(index), operations[index].isDelete {
                operations.remove(at: index)
                sent.unknownDeletes += 1
                continue
            }
            if reply.status == 200 {
                sent.writes = operations.count
                sent.deletes = operations.filter(\.isDelete).count
            } else {
                sent.failure = "HTTP \(reply.status): \(reply.text.prefix(200))"
            }
            return sent
        }
        sent.status = 200
        return sent
    }

    /// The `index` of a refused batch's answer.
    static func refusedIndex(_ body: [UInt8]) -> Int? {
        struct Refusal: Decodable { let index: Int? }
        return (try? JSONDecoder().decode(Refusal.self, from: Data(body)))?.index
    }

    static func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}
