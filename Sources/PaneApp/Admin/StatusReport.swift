import Foundation
import PaneCore
import PaneRedis

/// `pane admin status`: what Redis knows about each region's stream, its replicas (consumer
/// groups) and its dead letters. Blocking (hiredis): call it from a thread of its own.
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
    }

    public struct RegionStatus: Sendable, Codable {
        public let region: String
        public let length: Int
        public let firstSeq: UInt64?
        public let lastSeq: UInt64?
        public let memoryBytes: Int?
        public let deadLetters: Int
        public let replicas: [Replica]
    }

    public let regions: [RegionStatus]

    /// Reads the status of `regions` from the Redis at `redis`.
    public static func collect(regions: [Region], redis: RedisEndpoint) throws -> StatusReport {
        let conn = try AdminRedis.connect(to: redis)
        var result: [RegionStatus] = []
        for region in regions {
            let key = region.keys.updates
            let info = try conn.xinfoStream(key: key)
            func seq(_ value: RESPValue?) -> UInt64? {
                value?.array?.first?.string.flatMap(StreamEntryCodec.seq(fromEntryID:))
            }
            let memory = try? conn.memoryUsage(key: key)
            let beats = try conn.hgetall(key: region.keys.replicas)
            let now = WallClock.nowMs()
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
                replicas.append(
                    Replica(
                        name: replicaName,
                        pending: Int(group["pending"]?.int ?? 0),
                        lag: group["lag"]?.int.map(Int.init),
                        lastDeliveredSeq: group["last-delivered-id"]?.string.flatMap(StreamEntryCodec.seq(fromEntryID:)),
                        consumers: consumers.count, lastContactMs: lastContact, position: beat?.watermark, resync: resync, digest: digest,
                        heartbeatAgeMs: beat.map { now - $0.timeMs }))
            }
            result.append(
                RegionStatus(
                    region: region.name, length: Int(info?["length"]?.int ?? 0), firstSeq: seq(info?["first-entry"]),
                    lastSeq: seq(info?["last-entry"]), memoryBytes: memory,
                    deadLetters: try conn.xlen(key: region.keys.deadLetters), replicas: replicas))
        }
        return StatusReport(regions: result)
    }

    /// Regions that have a stream in this Redis (`pane:{R}:updates`), found with SCAN.
    public static func discoverRegions(redis: RedisEndpoint) throws -> [Region] {
        let conn = try AdminRedis.connect(to: redis)
        let keys = try conn.scanAll(match: RegionKeys.everyRegionStream)
        return Set(keys.compactMap { RegionKeys.region(ofStream: $0) }).sorted()
    }

    /// The human table: one line per replica, region figures on its first line.
    public var table: String {
        var rows: [[String]] = []
        for region in regions {
            let seqs = region.firstSeq.map { "\($0)-\(region.lastSeq ?? $0)" } ?? "-"
            let memory = region.memoryBytes.map { String(format: "%.1f MB", Double($0) / 1_048_576) } ?? "-"
            let head = [region.region, String(region.length), seqs, memory, String(region.deadLetters)]
            if region.replicas.isEmpty { rows.append(head + ["-", "-", "-", "-", "-", "-", "-", "-"]) }
            for (i, replica) in region.replicas.enumerated() {
                let delivered: String = replica.lastDeliveredSeq.map { String($0) } ?? "-"
                let lag: String = replica.lag.map { String($0) } ?? "unknown"
                let contact: String = replica.lastContactMs.map { "\($0) ms ago" } ?? "never"
                let position: String = replica.position.map { String($0) } ?? "-"
                let cells: [String] = [
                    replica.name, position, delivered, lag, String(replica.pending), replica.resync ?? "-", replica.digest ?? "-", contact,
                ]
                let prefix: [String] = i == 0 ? head : ["", "", "", "", ""]
                rows.append(prefix + cells)
            }
        }
        let header = [
            "REGION", "LENGTH", "SEQS", "MEMORY", "DLQ", "REPLICA", "POSITION", "DELIVERED", "LAG", "PENDING", "RESYNC", "DIGEST", "LAST CONTACT",
        ]
        let widths = header.indices.map { i in ([header[i]] + rows.map { $0[i] }).map(\.count).max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}
