import Foundation
import Logging
import Metrics
import PaneCore
import PaneRedis

/// The hub's side of resync, on a thread of its own: serves resync requests with snapshots,
/// compares the replicas' digests with the hub's (anti-entropy), trims the region streams
/// (retention) and notices when Redis lost a stream's data.
///
/// Requests arrive in `pane:{R}:resync` and are read through the consumer group `hub`. The
/// requests read in one round for one region are served by one snapshot: every bucket if any
/// request asks for all, otherwise the union of the buckets asked for. A snapshot is written to
/// `pane:{R}:snapshot:<epoch>` as a list of chunks, then announced by a `snap` entry that goes
/// through the outbox like any update, so it gets the region's next seq. The requests are acked
/// only after the announcement is in the outbox; if the hub dies before that, they stay pending
/// and the next hub serves them.
public final class ResyncWorker: Sendable {
    let store: HubStore
    let endpoints: [Region: RedisEndpoint]
    let config: ResyncConfiguration
    let logger: Logger

    public init(store: HubStore, endpoints: [Region: RedisEndpoint], config: ResyncConfiguration, logger: Logger) {
        self.store = store
        self.endpoints = endpoints
        self.config = config
        self.logger = logger
    }

    /// Runs until `stop` is set; a snapshot in progress is finished and announced first.
    public func runBlocking(stop: StopFlag) {
        let lanes = RedisEndpoint.lanes(store.regions, endpoints).map { endpoint, regions in
            Lane(client: RedisClient(endpoint: endpoint, readTimeoutMs: config.blockMs + 5_000, logger: logger), regions: regions)
        }
        var state = State()
        let blockMs = max(10, config.blockMs / max(1, lanes.count))
        var nextAntiEntropy = WallClock.nowMs() + Int64(config.antiEntropyIntervalMs)
        var nextMaintenance = WallClock.nowMs()
        logger.info("resync service started", metadata: ["regions": "\(store.regions.map(\.name).joined(separator: ","))"])
        while !stop.isStopped {
            for lane in lanes where !stop.isStopped {
                do {
                    try serveRequests(lane, blockMs: blockMs, state: &state)
                } catch {
                    lane.reset()
                    logger.warning(
                        "resync round failed; will retry", metadata: ["redis": "\(lane.client.endpoint)", "error": "\(error)"])
                    stop.sleep(ms: 200)
                }
            }
            let now = WallClock.nowMs()
            if now >= nextMaintenance && !stop.isStopped {
                nextMaintenance = now + Int64(config.retentionIntervalMs)
                for lane in lanes {
                    do { try maintain(lane, state: &state) } catch {
                        lane.client.close()
                        logger.warning("retention round failed; will retry", metadata: ["redis": "\(lane.client.endpoint)", "error": "\(error)"])
                    }
                }
            }
            if now >= nextAntiEntropy && !stop.isStopped {
                nextAntiEntropy = now + Int64(config.antiEntropyIntervalMs)
                for lane in lanes {
                    do { try antiEntropy(lane, state: &state) } catch {
                        lane.client.close()
                        logger.warning("anti-entropy round failed; will retry", metadata: ["redis": "\(lane.client.endpoint)", "error": "\(error)"])
                    }
                }
            }
        }
        lanes.forEach { $0.client.close() }
        logger.info("resync service stopped")
    }

    /// One Redis endpoint and the regions it serves.
    final class Lane {
        let client: RedisClient
        let regions: [Region]
        /// Whether the `hub` groups exist (as far as we know).
        var groupsReady = false
        /// Whether to read our own pending list before new requests.
        var readPending = true

        init(client: RedisClient, regions: [Region]) {
            self.client = client
            self.regions = regions
        }

        func reset() {
            client.close()
            groupsReady = false
            readPending = true
        }
    }

    /// What the loop remembers between rounds; only the worker's thread touches it.
    struct State {
        var lastEpoch: Int64 = 0
        /// `timeMs` of the last digest compared, per `region/replica`.
        var lastDigest: [String: Int64] = [:]
        /// (time, published seq) samples per region, oldest first, to map an age to a seq.
        var samples: [Region: [(timeMs: Int64, seq: UInt64)]] = [:]
        /// Regions whose stream lost data and were reported, until it heals.
        var lostReported: Set<Region> = []
        var maintenanceRounds = 0

        mutating func nextEpoch() -> Int64 {
            lastEpoch = max(lastEpoch + 1, WallClock.nowMs())
            return lastEpoch
        }
    }

    // MARK: Requests

    /// Makes sure the groups exist, then reads one round of requests and serves them.
    func serveRequests(_ lane: Lane, blockMs: Int, state: inout State) throws {
        if !lane.groupsReady { try prepareGroups(lane) }
        let pending = lane.readPending
        var args: [RedisArgument] = ["XREADGROUP", "GROUP", RedisArgument(Keys.hubGroup), RedisArgument(config.consumer), "COUNT", "1000"]
        if !pending { args += ["BLOCK", RedisArgument(blockMs)] }
        args.append("STREAMS")
        args += lane.regions.map { RedisArgument(Keys.resyncRequests($0)) }
        args += lane.regions.map { _ in RedisArgument(pending ? "0" : ">") }
        let reply: RESPValue
        do {
            reply = try lane.client.run { conn throws(RedisError) in try conn.command(args) }
        } catch {
            guard error.kind == .server, error.message.hasPrefix("NOGROUP") else { throw error }
            // The stream or the group is gone (FLUSHALL, DEL): make them again.
            logger.warning("resync request group missing; re-creating it", metadata: ["error": "\(error)"])
            lane.groupsReady = false
            return
        }
        let byKey = Self.streams(reply)
        var any = false
        for region in lane.regions {
            guard let entries = byKey[Keys.resyncRequests(region)], !entries.isEmpty else { continue }
            any = true
            try handle(entries, region: region, lane: lane, state: &state)
        }
        if pending && !any { lane.readPending = false }
    }

    /// Creates the `hub` group on every resync stream of the lane (MKSTREAM), and takes over
    /// requests left pending by earlier hub processes.
    private func prepareGroups(_ lane: Lane) throws {
        for region in lane.regions {
            let key = Keys.resyncRequests(region)
            try lane.client.run { conn throws(RedisError) in
                // From the start of the stream: requests sent before the hub ever ran are served too.
                try conn.xgroupCreate(key: key, group: Keys.hubGroup, startID: "0")
                var start = "0-0"
                repeat {
                    let claim = try conn.xautoclaim(
                        key: key, group: Keys.hubGroup, consumer: config.consumer, minIdleMs: 0, start: start, count: 1_000)
                    start = claim.next
                } while start != "0-0"
                for consumer in try conn.xinfoConsumers(key: key, group: Keys.hubGroup) {
                    guard let name = consumer["name"]?.string, name != config.consumer, consumer["pending"]?.int == 0 else { continue }
                    try conn.xgroupDelConsumer(key: key, group: Keys.hubGroup, consumer: name)
                }
            }
        }
        lane.groupsReady = true
        lane.readPending = true
    }

    /// Decodes one region's requests, acks the malformed ones, and serves the rest with one snapshot.
    private func handle(_ entries: [StreamEntry], region: Region, lane: Lane, state: inout State) throws {
        let key = Keys.resyncRequests(region)
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
            _ = try lane.client.run { conn throws(RedisError) in try conn.xack(key: key, group: Keys.hubGroup, ids: bad) }
        }
        guard !requests.isEmpty else { return }
        Counter(label: "pane_hub_resync_requests_total", dimensions: [("region", region.name)]).increment(by: requests.count)
        try serve(requests, region: region, client: lane.client, state: &state)
        _ = try lane.client.run { conn throws(RedisError) in try conn.xack(key: key, group: Keys.hubGroup, ids: good) }
    }

    /// Writes one snapshot that answers every request in `requests`, and announces it.
    @discardableResult
    func serve(_ requests: [ResyncRequest], region: Region, client: RedisClient, state: inout State) throws -> SnapshotAnnouncement {
        let started = Date()
        let full = requests.contains { $0.buckets == nil }
        let buckets: [Int]? = full ? nil : Array(Set(requests.flatMap { $0.buckets ?? [] })).sorted()
        let replicas: [String]? =
            requests.contains { $0.replica == nil } ? nil : Array(Set(requests.compactMap(\.replica))).sorted()
        let reason = Array(Set(requests.map(\.reason))).sorted().joined(separator: ",")
        let epoch = state.nextEpoch()
        let key = Keys.snapshot(region, epoch: epoch)
        let ttl = config.snapshotTtlSeconds
        var bytes = 0
        var unread = 0
        let summary: HubStore.SnapshotSummary
        do {
            summary = try store.snapshot(region: region, buckets: buckets, chunkRows: config.chunkRows, chunkBytes: config.chunkBytes) { rows in
                let chunk = SnapshotChunkCodec.encode(rows)
                bytes += chunk.count
                var commands = RedisCommandBuffer(reservingCapacity: chunk.count + 128)
                commands.append(["RPUSH", RedisArgument(key), RedisArgument(chunk)])
                // The expiry goes on with the first chunk, so a hub that dies mid-snapshot leaves nothing behind for long.
                if unread == 0 { commands.append(["EXPIRE", RedisArgument(key), RedisArgument(ttl)]) }
                // One chunk in flight: Redis stores chunk k while SQLite reads chunk k+1.
                let previous = unread
                try client.run { conn throws(RedisError) in
                    try conn.send(commands)
                    if previous > 0 { try Self.check(conn.receive(previous, command: "RPUSH")) }
                }
                unread = commands.count
            }
            let last = unread
            try client.run { conn throws(RedisError) in
                if last > 0 { try Self.check(conn.receive(last, command: "RPUSH")) }
                if summary.chunks > 0 { try conn.command(["EXPIRE", RedisArgument(key), RedisArgument(ttl)]) }
            }
        } catch {
            client.close()
            _ = try? client.run { conn throws(RedisError) in try conn.command(["DEL", RedisArgument(key)]) }
            throw error
        }
        let announcement = SnapshotAnnouncement(
            key: key, epoch: epoch, seq: summary.seq, chunks: summary.chunks, rows: summary.rows, replicas: replicas, buckets: buckets,
            requestIDs: requests.map(\.requestID), reason: reason)
        let entrySeq = try store.announce(region: region, announcement: announcement)
        let seconds = Date().timeIntervalSince(started)
        Counter(label: "pane_hub_snapshots_total", dimensions: [("region", region.name)]).increment()
        Counter(label: "pane_hub_snapshot_rows_total", dimensions: [("region", region.name)]).increment(by: summary.rows)
        Counter(label: "pane_hub_snapshot_bytes_total", dimensions: [("region", region.name)]).increment(by: bytes)
        logger.notice(
            "resync snapshot announced",
            metadata: [
                "region": "\(region.name)", "reason": "\(reason)", "rows": "\(summary.rows)", "chunks": "\(summary.chunks)",
                "bytes": "\(bytes)", "seconds": "\(String(format: "%.3f", seconds))", "seq": "\(summary.seq)", "entrySeq": "\(entrySeq)",
                "key": "\(key)", "replicas": "\(replicas?.joined(separator: ",") ?? "all")",
                "buckets": "\(buckets.map { String($0.count) } ?? "all")", "requests": "\(requests.count)",
            ])
        return announcement
    }

    private static func check(_ replies: [RESPValue]) throws(RedisError) {
        for reply in replies {
            if case .error(let message) = reply { throw RedisError(.server, message, command: "RPUSH") }
        }
    }

    /// Reads a multi-stream XREADGROUP reply: `[[key, [[id, [f, v, …]], …]], …]`.
    static func streams(_ reply: RESPValue) -> [String: [StreamEntry]] {
        var result: [String: [StreamEntry]] = [:]
        for stream in reply.array ?? [] {
            guard let pair = stream.array, pair.count == 2, let key = pair[0].string else { continue }
            var entries: [StreamEntry] = []
            for item in pair[1].array ?? [] {
                guard let parts = item.array, parts.count == 2, let id = parts[0].string else { continue }
                guard let flat = parts[1].array else {
                    entries.append(StreamEntry(id: id, fields: nil))
                    continue
                }
                var fields: [(String, [UInt8])] = []
                var i = 0
                while i + 1 < flat.count {
                    fields.append((flat[i].string ?? "", flat[i + 1].bytes ?? []))
                    i += 2
                }
                entries.append(StreamEntry(id: id, fields: fields))
            }
            result[key] = entries
        }
        return result
    }

    // MARK: Anti-entropy

    /// Compares every new digest report of the lane's regions with the hub's digest, writes the
    /// verdicts, and resends the buckets that really differ to the replica that reported them.
    func antiEntropy(_ lane: Lane, state: inout State) throws {
        for region in lane.regions {
            let key = Keys.replicas(region)
            let hash = try lane.client.run { conn throws(RedisError) in try conn.command(["HGETALL", RedisArgument(key)]) }.fieldMap
            var hub: (digest: ContextDigest, maxSeq: [UInt64], seq: UInt64)?
            for (field, value) in hash.sorted(by: { $0.key < $1.key }) where field.hasSuffix(":digest") {
                let replica = String(field.dropLast(":digest".count))
                let mark = "\(region.name)/\(replica)"
                guard let report = StatusJSON.decode(DigestReport.self, value.string), let digest = ContextDigest(encoded: report.digest)
                else {
                    if state.lastDigest[mark] != -1 {
                        logger.warning("unreadable digest report; ignored", metadata: ["region": "\(region.name)", "field": "\(field)"])
                    }
                    state.lastDigest[mark] = -1
                    continue
                }
                if let last = state.lastDigest[mark], last >= report.timeMs { continue }
                if hub == nil { hub = try store.digest(region: region) }
                guard let hub else { continue }
                let outcome = AntiEntropy.compare(hub: hub.digest, hubMaxSeq: hub.maxSeq, replica: digest, position: report.position)
                let now = WallClock.nowMs()
                let requestID = outcome.differing.isEmpty ? nil : "digest-\(replica)-\(now)"
                let verdict = DigestVerdict(
                    replica: replica, position: report.position, differing: outcome.differing, inFlux: outcome.inFlux, timeMs: now,
                    resyncRequestID: requestID)
                Counter(label: "pane_hub_digest_comparisons_total", dimensions: [("region", region.name)]).increment()
                Gauge(label: "pane_hub_digest_mismatch_buckets", dimensions: [("region", region.name), ("replica", replica)])
                    .record(outcome.differing.count)
                _ = try lane.client.run { conn throws(RedisError) in
                    try conn.command(["HSET", RedisArgument(key), RedisArgument("\(replica):verdict"), RedisArgument(StatusJSON.encode(verdict))])
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

    // MARK: Retention and lost data

    /// For each region of the lane: notices lost stream data, trims the stream as far as
    /// retention allows, and caps the request stream.
    func maintain(_ lane: Lane, state: inout State) throws {
        let now = WallClock.nowMs()
        let maxAgeMs = Int64(config.retentionMaxAgeSeconds) * 1000
        state.maintenanceRounds += 1
        for region in lane.regions {
            let key = Keys.updates(region)
            let published = try store.publishedSeq(region: region)
            var samples = state.samples[region] ?? []
            samples.append((now, published))
            // Keep the samples younger than the cap and the newest one older than it.
            if let oldest = samples.lastIndex(where: { $0.timeMs <= now - maxAgeMs }), oldest > 0 {
                samples.removeFirst(oldest)
            }
            state.samples[region] = samples
            let info = try lane.client.run { conn throws(RedisError) in try conn.xinfoStream(key: key) }
            let lastGenerated = info?["last-generated-id"]?.string.flatMap(Self.idSeq) ?? 0
            if published > 0 && (info == nil || lastGenerated < published) {
                if !state.lostReported.contains(region) {
                    state.lostReported.insert(region)
                    Counter(label: "pane_hub_stream_lost_total", dimensions: [("region", region.name)]).increment()
                    logger.error(
                        "region stream lost data: \(info == nil ? "the stream is missing" : "its last id \(lastGenerated) is below the last published seq \(published)"); replicas will resync",
                        metadata: ["region": "\(region.name)", "stream": "\(key)", "published": "\(published)", "lastGenerated": "\(lastGenerated)"])
                }
            } else {
                state.lostReported.remove(region)
            }
            if let info { try trim(region: region, info: info, published: published, samples: samples, now: now, client: lane.client) }
            if state.maintenanceRounds % 12 == 1 {
                try lane.client.run { conn throws(RedisError) in
                    _ = try conn.xtrim(
                        key: Keys.resyncRequests(region), strategy: "MAXLEN", threshold: String(config.requestStreamMaxLength))
                }
            }
        }
    }

    private func trim(
        region: Region, info: [String: RESPValue], published: UInt64, samples: [(timeMs: Int64, seq: UInt64)], now: Int64,
        client: RedisClient
    ) throws {
        let key = Keys.updates(region)
        guard let firstID = info["first-entry"]?.array?.first?.string, let lastID = info["last-entry"]?.array?.first?.string,
            let first = StreamEntryCodec.seq(fromEntryID: firstID), let top = StreamEntryCodec.seq(fromEntryID: lastID)
        else { return }  // empty, or a foreign entry the publisher deals with
        let heartbeats = try client.run { conn throws(RedisError) in try conn.command(["HGETALL", RedisArgument(Keys.replicas(region))]) }.fieldMap
        var live: [String: UInt64] = [:]
        for (field, value) in heartbeats where !field.contains(":") {
            guard let beat = StatusJSON.decode(ReplicaHeartbeat.self, value.string) else { continue }
            if now - beat.timeMs <= Int64(config.replicaTimeoutMs) { live[field] = beat.watermark }
        }
        let ageCut = Retention.ageCutSeq(samples: samples, nowMs: now, maxAgeMs: Int64(config.retentionMaxAgeSeconds) * 1000)
        let decision = Retention.cut(
            streamFirst: first, streamTop: top, published: published, liveWatermarks: live, maxEntries: config.retentionMaxEntries,
            ageCutSeq: ageCut)
        guard let cut = decision.minID else { return }
        let trimmed = try client.run { conn throws(RedisError) in
            try conn.xtrim(key: key, strategy: "MINID", threshold: StreamEntryCodec.entryID(seq: cut), approximate: false)
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
