import Foundation
import Logging
import Metrics
import PaneCore
import PaneRedis
import PaneRuntime
import PaneStore

extension ResyncWorker {
    /// Compares every new digest report of the lane's regions with the hub's digest, writes the
    /// verdicts, and resends the buckets that really differ to the replica that reported them.
    func antiEntropy(_ lane: Lane, state: inout State) throws {
        for region in lane.regions {
            let key = region.keys.replicas
            let hash = try lane.client.run { conn throws(RedisError) in try conn.hgetall(key: key) }
            // The hub's digest per format: a spoke from before the body hash reports format 1,
            // and is compared with a format-1 digest, not taken for divergent.
            var hubDigests: [Int: (digest: ContextDigest, maxSeq: [UInt64], seq: UInt64)] = [:]
            for (field, value) in hash.sorted(by: { $0.key < $1.key }) where field.hasSuffix(":digest") {
                let replica = String(field.dropLast(":digest".count))
                let mark = "\(region.name)/\(replica)"
                guard let report = StatusJSON.decode(DigestReport.self, value.string), let digest = ContextDigest(encoded: report.digest),
                    ContextDigest.formats.contains(report.digestFormat)
                else {
                    if state.lastDigest[mark] != -1 {
                        logger.warning(
                            "unreadable digest report, or a format this hub does not know; ignored",
                            metadata: ["region": "\(region.name)", "field": "\(field)"])
                    }
                    state.lastDigest[mark] = -1
                    continue
                }
                if let last = state.lastDigest[mark], last >= report.timeMs { continue }
                let format = report.digestFormat
                if hubDigests[format] == nil { hubDigests[format] = try store.digest(region: region, format: format) }
                guard let hub = hubDigests[format] else { continue }
                let outcome = AntiEntropy.compare(hub: hub.digest, hubMaxSeq: hub.maxSeq, replica: digest, position: report.position)
                let now = WallClock.nowMs()
                let requestID = outcome.differing.isEmpty ? nil : "digest-\(replica)-\(now)"
                if let id = requestID {
                    // Anyone can write a digest report: its snapshots count against the region's
                    // limit like the replicas' requests. Refused, the report is compared again
                    // next round.
                    var throttle = state.throttles[region] ?? ResyncThrottle(settings: config.throttle)
                    let reports = try replicaReports(throttle, region: region, client: lane.client)
                    let request = ResyncRequest(requestID: id, replica: replica, reason: "digest", buckets: outcome.differing)
                    let refusal = throttle.admitNow(request, done: reports.done, waitingFor: reports.waitingFor, nowMs: now)
                    state.throttles[region] = throttle
                    if let refusal {
                        Counter(label: "pane_hub_resync_throttled_total", dimensions: [("region", region.name)]).increment()
                        logger.warning(
                            "digest resync held back; the report is compared again next round",
                            metadata: ["region": "\(region.name)", "replica": "\(replica)", "reason": "\(refusal)"])
                        continue
                    }
                }
                let verdict = DigestVerdict(
                    replica: replica, position: report.position, differing: outcome.differing, inFlux: outcome.inFlux, timeMs: now,
                    resyncRequestID: requestID, reportTimeMs: report.timeMs)
                Counter(label: "pane_hub_digest_comparisons_total", dimensions: [("region", region.name)]).increment()
                Gauge(label: "pane_hub_digest_mismatch_buckets", dimensions: [("region", region.name), ("replica", replica)])
                    .record(outcome.differing.count)
                _ = try lane.client.run { conn throws(RedisError) in
                    try conn.hset(key: key, field: "\(replica):verdict", value: StatusJSON.encode(verdict))
                }
                if let requestID {
                    Counter(label: "pane_hub_digest_mismatches_total", dimensions: [("region", region.name)]).increment()
                    logger.warning(
                        "replica digest differs from the hub's; resending those buckets",
                        metadata: [
                            "region": "\(region.name)", "replica": "\(replica)", "buckets": "\(outcome.differing.count)",
                            "inFlux": "\(outcome.inFlux)", "position": "\(report.position)", "request": "\(requestID)",
                        ])
                    let request = ResyncRequest(requestID: requestID, replica: replica, reason: "digest", buckets: outcome.differing)
                    try serve([request], region: region, client: lane.client, state: &state)
                }
                state.lastDigest[mark] = report.timeMs
            }
        }
    }
}
