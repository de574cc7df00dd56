import Foundation
import Logging
import Metrics
import PaneCore
import PaneRedis
import PaneRuntime
import PaneStore

/// Keeps every region stream as short as the replicas allow, on a thread of its own: every
/// `hub.retentionIntervalMs` it trims each stream to the cut ``Retention`` decides, caps the
/// request streams, and notices when Redis lost a stream's data (the replicas then resync).
public final class RetentionWorker: Sendable {
    let store: HubStore
    /// Where the regions live in Redis.
    let redis: RedisTopology
    let config: ResyncConfiguration
    let logger: Logger
    let faults: FaultPoints
    /// What `/readyz` reads: whether the rounds reach Redis, also when nothing is written.
    let health: PublishHealth

    public init(
        store: HubStore, redis: RedisTopology, config: ResyncConfiguration, logger: Logger, faults: FaultPoints = .active,
        health: PublishHealth = PublishHealth()
    ) {
        self.health = health
        self.store = store
        self.redis = redis
        self.config = config
        self.logger = logger
        self.faults = faults
    }

    /// One Redis endpoint, the regions it serves, and what the worker remembers about them.
    final class Lane {
        let client: RedisClient
        let regions: [Region]
        /// (time, published seq) samples per region, oldest first, to map an age to a seq.
        var samples: [Region: [(timeMs: Int64, seq: UInt64)]] = [:]
        /// Regions whose stream lost data and were reported, until it heals.
        var lostReported: Set<Region> = []
        /// The server's eviction policy, checked once a minute.
        var durability = DurabilityWatch()
        var rounds = 0

        init(client: RedisClient, regions: [Region]) {
            self.client = client
            self.regions = regions
        }
    }

    /// Runs a round every ``ResyncConfiguration/retentionIntervalMs`` until `stop` is set.
    ///
    /// Redis errors are retried at the next round. Other failures count in a
    /// ``FailureStreak``; when it says stop, the worker throws (``RetriesExhausted``).
    public func runBlocking(stop: StopFlag) throws {
        let lanes = redis.lanes(store.regions).map { lane in
            Lane(client: lane.client(readTimeoutMs: 5_000, logger: logger), regions: lane.regions)
        }
        defer {
            lanes.forEach { $0.client.close() }
            logger.info("retention service stopped")
        }
        let started = ContinuousClock.now
        var failures = FailureStreak()
        logger.info("retention service started", metadata: ["regions": "\(store.regions.map(\.name).joined(separator: ","))"])
        while !stop.isStopped {
            try faults.failIfDue(.retention, started: started)
            for lane in lanes where !stop.isStopped {
                do {
                    try maintain(lane)
                    failures.succeeded()
                    health.succeeded(.retention)
                } catch {
                    lane.client.close()
                    health.failed(.retention)
                    try failures.record(error)
                    logger.warning("retention round failed; will retry", metadata: ["redis": "\(lane.client.endpoint)", "error": "\(error)"])
                }
            }
            stop.sleep(ms: config.retentionIntervalMs)
        }
    }

    /// For each region of the lane: notices lost stream data, trims the stream as far as
    /// retention allows, and caps the request stream.
    func maintain(_ lane: Lane) throws {
        let now = WallClock.nowMs()
        let maxAgeMs = Int64(config.retentionMaxAgeSeconds) * 1000
        lane.rounds += 1
        lane.durability.checkIfDue(lane.client, nowMs: now, logger: logger)
        exportMemory(lane.client)
        for region in lane.regions {
            let key = region.keys.updates
            // Every round, so a Redis that lost its data learns it again within an interval.
            let hubID = store.hubID
            _ = try lane.client.run { conn throws(RedisError) in
                _ = try conn.hset(key: region.keys.hub, field: RegionKeys.HubField.id, value: hubID)
                return try conn.hset(key: region.keys.hub, field: RegionKeys.HubField.digestFormat, value: String(ContextDigest.currentFormat))
            }
            let published = try store.publishedSeq(region: region)
            var samples = lane.samples[region] ?? []
            samples.append((now, published))
            // Keep the samples younger than the cap and the newest one older than it.
            if let oldest = samples.lastIndex(where: { $0.timeMs <= now - maxAgeMs }), oldest > 0 {
                samples.removeFirst(oldest)
            }
            lane.samples[region] = samples
            // What an operator alerts on: the hub's position and how far publishing is behind it.
            let last = try store.lastSeq(region: region)
            let dimensions = [("region", region.name)]
            Gauge(label: "pane_hub_last_seq", dimensions: dimensions).record(Double(last))
            Gauge(label: "pane_hub_published_seq", dimensions: dimensions).record(Double(published))
            Gauge(label: "pane_hub_outbox_backlog", dimensions: dimensions).record(Double(last > published ? last - published : 0))
            try exportRegionHealth(region, hubSeq: last, now: now, client: lane.client)
            let info = try lane.client.run { conn throws(RedisError) in try conn.xinfoStream(key: key) }
            let lastGenerated = info?["last-generated-id"]?.string.flatMap(Self.idSeq) ?? 0
            if published > 0 && (info == nil || lastGenerated < published) {
                if !lane.lostReported.contains(region) {
                    lane.lostReported.insert(region)
                    Counter(label: "pane_hub_stream_lost_total", dimensions: [("region", region.name)]).increment()
                    logger.error(
                        "region stream lost data: \(info == nil ? "the stream is missing" : "its last id \(lastGenerated) is below the last published seq \(published)"); replicas will resync",
                        metadata: ["region": "\(region.name)", "stream": "\(key)", "published": "\(published)", "lastGenerated": "\(lastGenerated)"])
                }
            } else {
                lane.lostReported.remove(region)
            }
            if let info { try trim(region: region, info: info, published: published, samples: samples, now: now, client: lane.client) }
            if lane.rounds % 12 == 1 {
                try lane.client.run { conn throws(RedisError) in
                    _ = try conn.xtrim(key: region.keys.resyncRequests, to: .maxLength(config.requestStreamMaxLength))
                }
            }
        }
    }

    /// The Redis's memory use and limit (`INFO memory`), for the "Redis memory near its limit"
    /// alert; a Redis that refuses `INFO` is left to the next round.
    func exportMemory(_ client: RedisClient) {
        guard let info = try? client.run({ conn throws(RedisError) in try conn.info("memory") }), let memory = RedisMemory(info: info) else { return }
        let dimensions = [("redis", client.endpoint.description)]
        Gauge(label: "pane_redis_used_memory_bytes", dimensions: dimensions).record(Double(memory.usedBytes))
        Gauge(label: "pane_redis_maxmemory_bytes", dimensions: dimensions).record(Double(memory.maxBytes))
    }

    /// What the alerts on a region's replicas and dead letters watch, as seen from the hub: a
    /// replica that is down cannot report its own state, but its heartbeat ages in Redis.
    func exportRegionHealth(_ region: Region, hubSeq: UInt64, now: Int64, client: RedisClient) throws {
        let (deadLetters, oldest, beats) = try client.run { conn throws(RedisError) in
            (
                try conn.xlen(key: region.keys.deadLetters), try conn.xrange(key: region.keys.deadLetters, count: 1).first,
                try conn.hgetall(key: region.keys.replicas)
            )
        }
        let dimensions = [("region", region.name)]
        Gauge(label: "pane_hub_dead_letters", dimensions: dimensions).record(Double(deadLetters))
        // Dead-letter ids are `XADD *` ids: their first part is the time they were written, in ms.
        let oldestMs = oldest.flatMap { entry in entry.id.split(separator: "-").first.flatMap { Int64($0) } }
        Gauge(label: "pane_hub_oldest_dead_letter_age_seconds", dimensions: dimensions).record(oldestMs.map { Double(max(0, now - $0)) / 1000 } ?? 0)
        // Anyone who can write to Redis can add fields: only valid replica names become labels,
        // and at most `maxReplicaSeries` per region, so forged heartbeats cannot grow the metrics.
        let names = beats.keys.filter { (try? ReplicaName($0)) != nil }.sorted().prefix(Self.maxReplicaSeries)
        for field in names {
            guard let beat = StatusJSON.decode(ReplicaHeartbeat.self, beats[field]?.string) else { continue }
            let replica = dimensions + [("replica", field)]
            Gauge(label: "pane_hub_replica_heartbeat_age_seconds", dimensions: replica).record(Double(max(0, now - beat.timeMs)) / 1000)
            Gauge(label: "pane_hub_replica_lag_seqs", dimensions: replica).record(Double(hubSeq > beat.watermark ? hubSeq - beat.watermark : 0))
            Gauge(label: "pane_hub_replica_resyncing", dimensions: replica).record(beat.resync == nil ? 0 : 1)
            // Trimmed before it was applied: the lag is not known; the replica resyncs.
            if let waited = try client.run({ conn throws(RedisError) in
                StatusReport.waitedMs(conn, stream: region.keys.updates, hubSeq: hubSeq, above: beat.watermark, nowMs: now)
            }) {
                Gauge(label: "pane_hub_replica_lag_seconds", dimensions: replica).record(Double(waited) / 1000)
            }
        }
    }

    /// The most replicas per region whose health the hub exports as metrics.
    static let maxReplicaSeries = 256

    func trim(
        region: Region, info: [String: RESPValue], published: UInt64, samples: [(timeMs: Int64, seq: UInt64)], now: Int64,
        client: RedisClient
    ) throws {
        let key = region.keys.updates
        guard let firstID = info["first-entry"]?.array?.first?.string, let lastID = info["last-entry"]?.array?.first?.string,
            let first = StreamEntryCodec.seq(fromEntryID: firstID), let lastSeq = StreamEntryCodec.seq(fromEntryID: lastID)
        else { return }  // empty, or a foreign entry the publisher deals with
        // A foreign entry (`XADD … *`) can sit far above every seq the hub allocated: the count
        // cap must not measure the stream up to it, or it would trim every entry of the hub's.
        let top = min(lastSeq, try store.lastSeq(region: region))
        guard first <= top else { return }  // nothing of the hub's before the foreign entries
        let heartbeats = try client.run { conn throws(RedisError) in try conn.hgetall(key: region.keys.replicas) }
        var live: [String: UInt64] = [:]
        for (field, value) in heartbeats where !field.contains(":") {
            guard let beat = StatusJSON.decode(ReplicaHeartbeat.self, value.string) else { continue }
            if now - beat.timeMs <= Int64(config.replicaTimeoutMs) { live[field] = beat.watermark }
        }
        let ageCut = Retention.ageCutSeq(samples: samples, nowMs: now, maxAgeMs: Int64(config.retentionMaxAgeSeconds) * 1000)
        // The byte cap, from Redis's estimate of the stream's size (MEMORY USAGE samples it).
        let streamBytes = config.retentionMaxBytes > 0 ? try client.run { conn throws(RedisError) in try conn.memoryUsage(key: key) } : nil
        let cap = Retention.entryCap(
            maxEntries: config.retentionMaxEntries, maxBytes: config.retentionMaxBytes, streamBytes: streamBytes,
            streamLength: Int(info["length"]?.int ?? 0))
        var decision = Retention.cut(
            streamFirst: first, streamTop: top, published: published, liveWatermarks: live, maxEntries: cap.entries, ageCutSeq: ageCut)
        if cap.byBytes && decision.reason == .maxEntries { decision.reason = .maxBytes }
        guard let cut = decision.minID else { return }
        let trimmed = try client.run { conn throws(RedisError) in
            try conn.xtrim(key: key, to: .minID(StreamEntryCodec.entryID(seq: cut)), approximate: false)
        }
        guard trimmed > 0 else { return }
        Counter(label: "pane_hub_trimmed_entries_total", dimensions: [("region", region.name)]).increment(by: trimmed)
        logger.info(
            "trimmed region stream",
            metadata: [
                "region": "\(region.name)", "minID": "\(cut)", "trimmed": "\(trimmed)", "reason": "\(decision.reason.rawValue)",
                "liveReplicas": "\(live.count)",
            ])
        if !decision.leftBehind.isEmpty {
            Counter(label: "pane_hub_retention_left_behind_total", dimensions: [("region", region.name)]).increment(by: decision.leftBehind.count)
            logger.warning(
                "retention cap trimmed entries that live replicas have not applied; they will resync",
                metadata: [
                    "region": "\(region.name)", "replicas": "\(decision.leftBehind.joined(separator: ","))", "minID": "\(cut)",
                    "reason": "\(decision.reason.rawValue)",
                ])
        }
    }

    /// The seq part of a stream id `<ms-or-seq>-<n>`.
    static func idSeq(_ id: String) -> UInt64? {
        guard let dash = id.firstIndex(of: "-") else { return UInt64(id) }
        return UInt64(id[..<dash])
    }
}
