import Foundation
import Logging
import Metrics
import PaneCore
import PaneRedis
import PaneRuntime
import PaneStore

/// Every maintenance tick the worker observes the replica and the stream, lets ``GapDetector``
/// decide, asks the hub through `pane:{R}:resync` when needed, publishes the replica's
/// heartbeat to `pane:{R}:replicas`, and reads the hub's identity from `pane:{R}:hub`.
extension SpokeWorker {
    /// Observes, decides, asks; publishes the heartbeat. Called from `maintain`.
    func checkGaps(loop: Loop, client: RedisClient) throws {
        let view = try store.resyncView()
        let watermark = view.ranges.watermark
        status.setBootstrapping(view.inFlight?.bootstrapping ?? false)
        let now = WallClock.nowMs()
        let heartbeat = ReplicaHeartbeat(
            replica: config.replica.name, consumer: config.consumer, watermark: watermark, highest: view.ranges.highest, timeMs: now,
            resync: view.inFlight.map {
                ResyncProgress(
                    reason: $0.reason, state: $0.epoch == 0 ? "requested" : "applying", requestedAtMs: $0.requestedAtMs, chunksDone: $0.chunksDone,
                    chunks: $0.chunks, bootstrapping: $0.bootstrapping, requestID: $0.requestID.isEmpty ? nil : $0.requestID)
            }, resyncsDone: view.resyncsDone)
        let next = StreamEntryCodec.entryID(seq: watermark + 1)
        var commands = RedisCommandBuffer()
        commands.xinfoStream(key: key)
        commands.xinfoGroups(key: key)
        commands.xpending(key: key, group: group, start: next, end: next, count: 1)
        commands.hset(key: config.region.keys.replicas, field: config.replica.name, value: StatusJSON.encode(heartbeat))
        commands.hmget(key: config.region.keys.hub, fields: [RegionKeys.HubField.seq, RegionKeys.HubField.id, RegionKeys.HubField.digestFormat])
        let replies = try client.run { conn throws(RedisError) in try conn.pipeline(commands) }
        let hub = replies[4].array ?? []
        if let text = hub.first?.string, let hubSeq = UInt64(text) { loop.hubSeq = hubSeq }
        status.recordLag(loop.lag.observe(hubSeq: loop.hubSeq, watermark: watermark, nowMs: now), hubSeq: loop.hubSeq, atMs: now)
        let format = hub.count > 2 ? hub[2].string.flatMap { Int($0) } : nil
        hubDigestFormat.store(min(format ?? 1, ContextDigest.currentFormat), ordering: .relaxed)
        let hubID = hub.count > 1 ? hub[1].string.flatMap { $0.isEmpty ? nil : $0 } : nil
        status.setPosition(watermark: watermark, hubID: hubID)
        // The history the replica holds: adopted at first contact; another id means the hub
        // was restored from a backup, and every row must come from it again.
        if let hubID, view.hubID == nil { try store.adoptHubID(hubID) }
        let newHistory = hubID != nil && view.hubID != nil && hubID != view.hubID
        // Gauges an operator alerts on: the replica's position, the hub's, and the difference.
        Gauge(label: "pane_spoke_watermark", dimensions: labels).record(Double(watermark))
        if let hubSeq = loop.hubSeq {
            Gauge(label: "pane_spoke_hub_seq", dimensions: labels).record(Double(hubSeq))
            Gauge(label: "pane_spoke_lag_seqs", dimensions: labels).record(Double(hubSeq > watermark ? hubSeq - watermark : 0))
        }
        Gauge(label: "pane_spoke_stale_contexts", dimensions: labels).record(Double(view.stale.count))
        var stream: GapDetector.StreamView?
        if !replies[0].isError {
            let info = replies[0].fieldMap
            let first = info["first-entry"]?.array?.first?.string.flatMap(Self.seqPart)
            stream = GapDetector.StreamView(
                length: Int(info["length"]?.int ?? 0), firstSeq: first,
                topSeq: info["last-generated-id"]?.string.flatMap(Self.seqPart) ?? 0)
        }
        let groupInfo = replies[1].array?.map(\.fieldMap).first { $0["name"]?.string == group.rawValue }
        let delivered = groupInfo?["last-delivered-id"]?.string.flatMap(Self.seqPart)
        let observation = GapDetector.Observation(
            nowMs: now, watermark: watermark, databaseEmpty: view.empty, stream: stream, groupLastDelivered: delivered,
            nextPending: !(replies[2].array?.isEmpty ?? true), deletedPending: loop.deletedPending, stale: view.stale,
            inFlight: view.inFlight.map { GapDetector.InFlight(reason: $0.reason, requestedAtMs: $0.requestedAtMs) }, hubSeq: loop.hubSeq,
            newHistory: newHistory)
        loop.deletedPending = 0
        guard case .resync(let reason, let buckets, let detail) = loop.detector.decide(observation) else { return }
        let requestID = "\(config.replica.name)-\(now)-\(UInt32.random(in: 0...UInt32.max))"
        let bootstrapping = reason == .bootstrap
        guard
            try store.beginResync(
                requestID: requestID, reason: reason.rawValue, bootstrapping: bootstrapping, nowMs: now, timeoutMs: config.gaps.requestTimeoutMs,
                newHubID: reason == .newHistory ? hubID : nil)
        else { return }
        // This spoke applies a streamed snapshot: the hub may announce it before writing it.
        let request = ResyncRequest(requestID: requestID, replica: config.replica.name, reason: reason.rawValue, buckets: buckets, streaming: true)
        _ = try client.run { conn throws(RedisError) in
            try conn.xadd(key: config.region.keys.resyncRequests, maxLength: 10_000, fields: [(ResyncRequest.field, request.encoded())])
        }
        if bootstrapping { status.setBootstrapping(true) }
        Counter(label: "pane_spoke_resync_requests_total", dimensions: labels + [("reason", reason.rawValue)]).increment()
        logger.warning(
            "gap detected: asked the hub for a resync",
            metadata: [
                "reason": "\(reason.rawValue)", "detail": "\(detail)", "buckets": "\(buckets.map { "\($0.count)" } ?? "all")",
                "watermark": "\(watermark)", "request": "\(requestID)",
            ])
    }
}
