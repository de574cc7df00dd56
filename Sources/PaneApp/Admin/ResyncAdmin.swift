import Foundation
import PaneCore
import PaneRedis

/// `pane admin resync`: asks the hub for a resync through `pane:{R}:resync`, then follows the
/// replicas' heartbeats in `pane:{R}:replicas` until each reports the request done. Blocking
/// (hiredis): call it from a thread of its own.
public struct ResyncAdmin: Sendable {
    public let region: Region
    public let redis: RedisEndpoint

    public init(region: Region, redis: RedisEndpoint) {
        self.region = region
        self.redis = redis
    }

    /// The replicas of the region that sent a heartbeat within `liveMs`.
    public func liveReplicas(liveMs: Int64 = 60_000) throws -> [String] {
        let conn = try connect()
        let now = WallClock.nowMs()
        return try heartbeats(conn).values.filter { now - $0.timeMs <= liveMs }.map(\.replica).sorted()
    }

    /// Sends the request and returns its id. `replica` nil asks for every replica of the region;
    /// `contexts` limits the resync to their buckets.
    public func request(replica: String?, contexts: [ContextID]) throws -> String {
        let conn = try connect()
        if let replica {
            guard try heartbeats(conn)[replica] != nil else {
                throw AdminError.unknownReplica(replica, region: region)
            }
        }
        let id = "admin-\(WallClock.nowMs())-\(UInt32.random(in: 0...UInt32.max))"
        let buckets = contexts.isEmpty ? nil : contexts.map { ContextDigest.bucket(of: $0.value) }
        let request = ResyncRequest(requestID: id, replica: replica, reason: "admin", buckets: buckets)
        // Recorded first, so the replicas know the snapshot that answers it was asked for.
        try conn.hset(key: region.keys.hub, field: RegionKeys.HubField.adminRequest, value: id)
        try conn.xadd(key: region.keys.resyncRequests, maxLength: 10_000, fields: [(ResyncRequest.field, request.encoded())])
        return id
    }

    /// Waits until every replica in `replicas` lists `requestID` as done, reporting changes of
    /// state through `progress`. Returns the replicas that did not finish within `timeoutMs`.
    public func wait(
        requestID: String, replicas: [String], timeoutMs: Int64, progress: (String) -> Void
    ) throws -> [String] {
        let conn = try connect()
        let deadline = WallClock.nowMs() + timeoutMs
        var last: [String: String] = [:]
        var remaining = Set(replicas)
        while !remaining.isEmpty {
            let beats = try heartbeats(conn)
            for replica in remaining.sorted() {
                let beat = beats[replica]
                let state: String
                if let beat, beat.resyncsDone.contains(requestID) {
                    state = "done (watermark \(beat.watermark))"
                    remaining.remove(replica)
                } else if let resync = beat?.resync, resync.state == "applying" {
                    state = "applying chunk \(resync.chunksDone) of \(resync.chunks)"
                } else {
                    state = "waiting for the hub's snapshot"
                }
                if last[replica] != state {
                    last[replica] = state
                    progress("\(region.name)/\(replica): \(state)")
                }
            }
            if remaining.isEmpty || WallClock.nowMs() >= deadline { break }
            Thread.sleep(forTimeInterval: 0.25)
        }
        return remaining.sorted()
    }

    func heartbeats(_ conn: RedisConnection) throws -> [String: ReplicaHeartbeat] {
        let map = try conn.hgetall(key: region.keys.replicas)
        var result: [String: ReplicaHeartbeat] = [:]
        for (field, value) in map where !field.contains(":") {
            if let beat = StatusJSON.decode(ReplicaHeartbeat.self, value.string) { result[field] = beat }
        }
        return result
    }

    func connect() throws -> RedisConnection { try AdminRedis.connect(to: redis, region: region) }
}
