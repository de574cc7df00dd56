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
    func prepareGroups(_ lane: Lane) throws {
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
    func handle(_ entries: [StreamEntry], region: Region, lane: Lane, state: inout State) throws {
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
}
