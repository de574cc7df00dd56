import Foundation
import PaneCore
import PaneRedis

/// What Redis knows about each region's stream, its replicas (consumer groups) and its dead
/// letters: the figures of `pane admin status` and of the hub's `/status` page, gathered in one
/// place. Blocking (hiredis): call it from a thread of its own.
public struct StatusReport: Sendable, Codable {
    public struct Replica: Sendable, Codable {
        public let name: String
        /// Entries delivered to a worker and not acked yet.
        public let pending: Int
        /// Entries not yet delivered to the group; `nil` when Redis cannot tell (entries were trimmed).
        public let lag: Int?
        /// The highest seq delivered to the group.
        public let lastDeliveredSeq: UInt64?
        public let consumers: Int
        /// Milliseconds since any worker of the replica last read the stream.
        public let lastContactMs: Int64?
        /// The replica's watermark (every seq at or below it applied), from its heartbeat.
        public let position: UInt64?
        /// The resync in progress, if any: `requested` or `applying k/n`.
        public let resync: String?
        /// The hub's last digest comparison: `agrees`, `N buckets differ`, or `nil` before the first.
        public let digest: String?
        /// Milliseconds since the replica's last heartbeat.
        public let heartbeatAgeMs: Int64?
        /// ``PaneCore/ReplicaState``: `ok`, `lagging`, `stale`, `down` or `resyncing`.
        public let state: ReplicaState
        /// Hub seqs above the replica's watermark (the hub's seq minus the watermark).
        public let lagSeqs: UInt64?
        /// How long the oldest entry above the watermark has waited, ms (0 when none waits).
        public let lagMs: Int64?
    }

    public struct RegionStatus: Sendable, Codable {
        public let region: String
        public let length: Int
        public let firstSeq: UInt64?
        public let lastSeq: UInt64?
        public let memoryBytes: Int?
        /// The hub's highest seq for the region (`pane:{R}:hub` field `seq`), or the stream's last.
        public let hubSeq: UInt64?
        public let deadLetters: Int
        /// The oldest dead letter, if any.
        public var oldestDeadLetter: DeadLetterSummary? = nil
        public let replicas: [Replica]
    }

    /// A dead letter in a few words: its id, age, context and why it was dead-lettered.
    public struct DeadLetterSummary: Sendable, Codable {
        public let id: String
        /// Milliseconds since it was dead-lettered (from its `XADD *` id).
        public let ageMs: Int64?
        public let ctx: String?
        public let kind: String
        public let reason: String

        init(_ entry: StreamEntry, nowMs: Int64) {
            let fields = entry.fields ?? []
            func text(_ name: String) -> String? { fields.first { $0.0 == name }.map { String(decoding: $0.1, as: UTF8.self) } }
            id = entry.id
            ageMs = entry.id.split(separator: "-").first.flatMap { Int64($0) }.map { max(0, nowMs - $0) }
            ctx = text(StreamEntryCodec.Field.ctx)
            kind = text("dlq-kind") ?? "?"
            reason = text("dlq-reason") ?? text("error") ?? "?"
        }
    }

    public let regions: [RegionStatus]
    /// The server's eviction policy, memory limit and AOF setting; nil when Redis refused
    /// `CONFIG GET` (a managed service may).
    public var redis: RedisDurability? = nil

    /// Reads the status of `regions` through `conn`.
    public static func collect(
        regions: [Region], connection conn: RedisConnection, thresholds: ReplicaState.Thresholds = ReplicaState.Thresholds()
    ) throws -> StatusReport {
        var result: [RegionStatus] = []
        for region in regions {
            let key = region.keys.updates
            let info = try conn.xinfoStream(key: key)
            func seq(_ value: RESPValue?) -> UInt64? {
                value?.array?.first?.string.flatMap(StreamEntryCodec.seq(fromEntryID:))
            }
            let memory = try? conn.memoryUsage(key: key)
            let beats = try conn.hgetall(key: region.keys.replicas)
            let hubFields = try conn.hgetall(key: region.keys.hub)
            let hubSeq = hubFields[RegionKeys.HubField.seq]?.string.flatMap { UInt64($0) } ?? seq(info?["last-entry"])
            let now = WallClock.nowMs()
            func waited(above watermark: UInt64) -> Int64? { waitedMs(conn, stream: key, hubSeq: hubSeq, above: watermark, nowMs: now) }
            var replicas: [Replica] = []
            for group in try conn.xinfoGroups(key: key) {
                guard let name = group["name"]?.string.map(ConsumerGroup.init(rawValue:)) else { continue }
                let consumers = (try? conn.xinfoConsumers(key: key, group: name)) ?? []
                let lastContact = consumers.compactMap { $0["idle"]?.int }.min()
                let replicaName = name.replicaName?.name ?? name.rawValue
                let beat = StatusJSON.decode(ReplicaHeartbeat.self, beats[replicaName]?.string)
                let verdict = StatusJSON.decode(DigestVerdict.self, beats["\(replicaName):verdict"]?.string)
                let resync = beat?.resync.map { $0.state == "applying" ? "applying \($0.chunksDone)/\($0.chunks)" : "requested (\($0.reason))" }
                let digest = verdict.map { $0.differing.isEmpty ? "agrees at \($0.position)" : "\($0.differing.count) buckets differ" }
                let heartbeatAge = beat.map { now - $0.timeMs }
                let lagSeqs = beat.flatMap { beat in hubSeq.map { $0 > beat.watermark ? $0 - beat.watermark : 0 } }
                let lagMs = beat.flatMap { waited(above: $0.watermark) }
                let state = ReplicaState.classify(
                    heartbeatAgeMs: heartbeatAge, resyncing: beat?.resync != nil, lagMs: lagMs ?? (lagSeqs ?? 0 > 0 ? Int64.max : 0),
                    thresholds: thresholds)
                replicas.append(
                    Replica(
                        name: replicaName,
                        pending: Int(group["pending"]?.int ?? 0),
                        lag: group["lag"]?.int.map(Int.init),
                        lastDeliveredSeq: group["last-delivered-id"]?.string.flatMap(StreamEntryCodec.seq(fromEntryID:)),
                        consumers: consumers.count, lastContactMs: lastContact, position: beat?.watermark, resync: resync, digest: digest,
                        heartbeatAgeMs: heartbeatAge, state: state, lagSeqs: lagSeqs, lagMs: lagMs))
            }
            var status = RegionStatus(
                region: region.name, length: Int(info?["length"]?.int ?? 0), firstSeq: seq(info?["first-entry"]),
                lastSeq: seq(info?["last-entry"]), memoryBytes: memory, hubSeq: hubSeq,
                deadLetters: try conn.xlen(key: region.keys.deadLetters), replicas: replicas)
            status.oldestDeadLetter = try conn.xrange(key: region.keys.deadLetters, count: 1).first.map { DeadLetterSummary($0, nowMs: now) }
            result.append(status)
        }
        var report = StatusReport(regions: result)
        report.redis = try? conn.durability()
        return report
    }

    /// How long the first entry above `watermark` has waited: its hub commit time to now; 0 when
    /// the hub has no seq above it, nil when that entry cannot be read (trimmed). The replication
    /// lag a reader of the replica sees (`LAG AGE`, `pane_hub_replica_lag_seconds`).
    public static func waitedMs(_ conn: RedisConnection, stream: StreamKey, hubSeq: UInt64?, above watermark: UInt64, nowMs: Int64) -> Int64? {
        guard let hubSeq, hubSeq > watermark else { return 0 }
        let next = StreamEntryCodec.entryID(seq: watermark + 1)
        guard let entry = try? conn.xrange(key: stream, start: next, count: 1).first, let fields = entry.fields,
            let update = try? StreamEntryCodec.decode(entryID: entry.id, fields: fields, rules: BodyRules(maxBytes: Int(Int32.max)))
        else { return nil }
        return max(0, nowMs - update.hubTimeMs)
    }

    /// Regions that have a stream in this Redis (`pane:{R}:updates`), found with SCAN.
    public static func discoverRegions(connection conn: RedisConnection) throws -> [Region] {
        let keys = try conn.scanAll(match: RegionKeys.everyRegionStream)
        return Set(keys.compactMap { RegionKeys.region(ofStream: $0) }).sorted()
    }

    /// The human table: one line per replica, region figures on its first line. The columns
    /// are defined in docs/operations.md ("Reading `pane admin status`").
    public var table: String {
        var rows: [[String]] = []
        for region in regions {
            let seqs = region.firstSeq.map { "\($0)-\(region.lastSeq ?? $0)" } ?? "-"
            let memory = region.memoryBytes.map(HumanSize.bytes) ?? "-"
            let head = [region.region, String(region.length), seqs, region.hubSeq.map { String($0) } ?? "-", memory, String(region.deadLetters)]
            if region.replicas.isEmpty { rows.append(head + ["-", "-", "-", "-", "-", "-", "-", "-", "-"]) }
            for (i, replica) in region.replicas.enumerated() {
                let cells: [String] = [
                    replica.name, replica.state.rawValue, replica.position.map { String($0) } ?? "-",
                    replica.lagSeqs.map { String($0) } ?? "-", replica.lagMs.map { HumanSize.duration(ms: $0) } ?? "-",
                    replica.heartbeatAgeMs.map { HumanSize.duration(ms: $0) + " ago" } ?? "never", String(replica.pending),
                    replica.resync ?? "-", replica.digest ?? "-",
                ]
                let prefix: [String] = i == 0 ? head : ["", "", "", "", "", ""]
                rows.append(prefix + cells)
            }
        }
        let header = [
            "REGION", "LENGTH", "SEQS", "HUB SEQ", "MEMORY", "DLQ", "REPLICA", "STATE", "POSITION", "LAG", "LAG AGE", "HEARTBEAT", "PENDING",
            "RESYNC", "DIGEST",
        ]
        let widths = header.indices.map { i in ([header[i]] + rows.map { $0[i] }).map(\.count).max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        var lines = [line(header)] + rows.map(line)
        if let redis {
            let limit = redis.maxMemoryBytes == 0 ? "no limit" : HumanSize.bytes(redis.maxMemoryBytes)
            var summary = "redis: maxmemory-policy \(redis.policy), maxmemory \(limit), appendonly \(redis.appendOnly ? "yes" : "no")"
            if let problem = redis.problem { summary += "\nWARNING: \(problem)" }
            lines.insert(summary, at: 0)
        }
        return lines.joined(separator: "\n")
    }
}
