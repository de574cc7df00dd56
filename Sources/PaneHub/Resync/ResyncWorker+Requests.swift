import Foundation
import Logging
import Metrics
import PaneCore
import PaneRedis
import PaneRuntime
import PaneStore

extension ResyncWorker {
    /// Makes sure the groups exist, then reads one round of requests and serves them.
    func serveRequests(_ lane: Lane, blockMs: Int, state: inout State) throws {
        if !lane.groupsReady { try prepareGroups(lane) }
        let pending = lane.readPending
        let keys = lane.regions.map(\.keys.resyncRequests)
        let byKey: [StreamKey: [StreamEntry]]
        do {
            byKey = try lane.client.run { conn throws(RedisError) in
                try conn.xreadgroup(
                    keys: keys, group: .hub, consumer: ConsumerName(config.consumer), count: 1000, blockMs: pending ? nil : blockMs,
                    id: pending ? "0" : ">")
            }
        } catch {
            guard error.kind == .server, error.message.hasPrefix("NOGROUP") else { throw error }
            // The stream or the group is gone (FLUSHALL, DEL): make them again.
            logger.warning("resync request group missing; re-creating it", metadata: ["error": "\(error)"])
            lane.groupsReady = false
            return
        }
        var any = false
        for region in lane.regions {
            let entries = byKey[region.keys.resyncRequests] ?? []
            any = any || !entries.isEmpty
            // Requests that waited for the throttle are looked at every round.
            guard !entries.isEmpty || state.throttles[region]?.hasWaiting == true else { continue }
            try handle(entries, region: region, lane: lane, state: &state)
        }
        if pending && !any { lane.readPending = false }
    }

    /// Creates the `hub` group on every resync stream of the lane (MKSTREAM), and takes over
    /// requests left pending by earlier hub processes.
    func prepareGroups(_ lane: Lane) throws {
        for region in lane.regions {
            let key = region.keys.resyncRequests
            try lane.client.run { conn throws(RedisError) in
                // From the start of the stream: requests sent before the hub ever ran are served too.
                try conn.xgroupCreate(key: key, group: .hub, startID: "0")
                var start = "0-0"
                repeat {
                    let claim = try conn.xautoclaim(
                        key: key, group: .hub, consumer: ConsumerName(config.consumer), minIdleMs: 0, start: start, count: 1_000)
                    start = claim.next
                } while start != "0-0"
                for consumer in try conn.xinfoConsumers(key: key, group: .hub) {
                    guard let name = consumer["name"]?.string, name != config.consumer, consumer["pending"]?.int == 0 else { continue }
                    try conn.xgroupDelConsumer(key: key, group: .hub, consumer: ConsumerName(name))
                }
            }
        }
        lane.groupsReady = true
        lane.readPending = true
    }

    /// Decodes one region's requests, acks the malformed ones, and serves the rest with one snapshot.
    func handle(_ entries: [StreamEntry], region: Region, lane: Lane, state: inout State) throws {
        let key = region.keys.resyncRequests
        var requests: [ResyncRequest] = []
        var good: [String] = []
        var bad: [String] = []
        for entry in entries {
            guard let fields = entry.fields else {
                bad.append(entry.id)  // trimmed while pending: nothing to serve
                continue
            }
            let problem: String
            if let value = fields.first(where: { $0.0 == ResyncRequest.field })?.1 {
                do {
                    requests.append(try ResyncRequest.decode(value))
                    good.append(entry.id)
                    continue
                } catch {
                    problem = error.description
                }
            } else {
                problem = "field '\(ResyncRequest.field)' is missing"
            }
            bad.append(entry.id)
            Counter(label: "pane_hub_resync_malformed_total", dimensions: [("region", region.name)]).increment()
            logger.warning(
                "malformed resync request; acked and ignored",
                metadata: ["region": "\(region.name)", "entry": "\(entry.id)", "error": "\(problem)"])
        }
        if !bad.isEmpty {
            _ = try lane.client.run { conn throws(RedisError) in try conn.xack(key: key, group: .hub, ids: bad) }
        }
        if !requests.isEmpty {
            Counter(label: "pane_hub_resync_requests_total", dimensions: [("region", region.name)]).increment(by: requests.count)
        }
        var throttle = state.throttles[region] ?? ResyncThrottle(settings: config.throttle)
        let reports = try replicaReports(throttle, region: region, client: lane.client)
        let admission = throttle.admit(requests, done: reports.done, waitingFor: reports.waitingFor, nowMs: WallClock.nowMs())
        state.throttles[region] = throttle
        report(admission, received: requests.count, region: region, state: &state)
        if !admission.serve.isEmpty {
            try serve(admission.serve, region: region, client: lane.client, state: &state)
        }
        // Requests that wait are kept in memory: a hub that restarts forgets them, and their
        // replicas ask again after spoke.resyncTimeoutMs.
        if !good.isEmpty {
            _ = try lane.client.run { conn throws(RedisError) in try conn.xack(key: key, group: .hub, ids: good) }
        }
    }

    /// Per replica with a pending resync, the request ids its heartbeat lists as done, and the
    /// request it says it waits for (every replica's when a resync for all of them is pending).
    func replicaReports(
        _ throttle: ResyncThrottle, region: Region, client: RedisClient
    ) throws -> (done: [String: [String]], waitingFor: [String: String]) {
        let key = region.keys.replicas
        var beats: [String: String] = [:]
        if throttle.pendingForEveryReplica {
            let all = try client.run { conn throws(RedisError) in try conn.hgetall(key: key) }
            for (field, value) in all where !field.contains(":") { beats[field] = value.string }
        } else {
            let replicas = throttle.pendingReplicas
            guard !replicas.isEmpty else { return ([:], [:]) }
            let values = try client.run { conn throws(RedisError) in try conn.hmget(key: key, fields: replicas) }
            for (replica, value) in zip(replicas, values) { beats[replica] = value }
        }
        let decoded = beats.compactMapValues { StatusJSON.decode(ReplicaHeartbeat.self, $0) }
        return (decoded.mapValues(\.resyncsDone), decoded.compactMapValues { $0.resync?.waitingFor })
    }

    /// Counts what the throttle held back or dropped, and logs it at most once every 10 s per
    /// region (a flood would otherwise log every round).
    func report(_ admission: ResyncThrottle.Admission, received: Int, region: Region, state: inout State) {
        if !admission.dropped.isEmpty {
            Counter(label: "pane_hub_resync_dropped_total", dimensions: [("region", region.name)]).increment(by: admission.dropped.count)
        }
        let held = admission.held > 0
        if held {
            Counter(label: "pane_hub_resync_throttled_total", dimensions: [("region", region.name)]).increment(by: admission.held)
        }
        let now = WallClock.nowMs()
        guard held || !admission.dropped.isEmpty, now - (state.throttleLoggedMs[region] ?? 0) >= 10_000 else { return }
        state.throttleLoggedMs[region] = now
        if !admission.dropped.isEmpty {
            logger.warning(
                "resync requests dropped: too many wait already",
                metadata: [
                    "region": "\(region.name)", "dropped": "\(admission.dropped.count)",
                    "replicas": "\(Set(admission.dropped.map(ResyncThrottle.replicaKey)).sorted().prefix(10).joined(separator: ","))",
                ])
        }
        if held, let reason = admission.waitReason {
            logger.warning(
                "resync requests held back",
                metadata: [
                    "region": "\(region.name)", "waiting": "\(admission.waiting)", "received": "\(received)", "held": "\(admission.held)",
                    "reason": "\(reason)",
                ])
        }
    }
}
