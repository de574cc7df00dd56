import Foundation
import Logging
import Metrics
import PaneCore
import PaneRedis
import PaneRuntime
import PaneStore

extension ResyncWorker {
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
        let key = region.keys.snapshot(epoch: epoch)
        let ttl = config.snapshotTtlSeconds
        var bytes = 0
        var unread = 0
        let summary: HubStore.SnapshotSummary
        var synced = false
        do {
            summary = try store.snapshot(region: region, buckets: buckets, chunkRows: config.chunkRows, chunkBytes: config.chunkBytes) { rows in
                // Published data too: the read transaction has begun, so a sync now covers every
                // commit it sees (hub.durability).
                if !synced {
                    try store.syncBeforePublish()
                    synced = true
                }
                let chunk = SnapshotChunkCodec.encode(rows)
                bytes += chunk.count
                var commands = RedisCommandBuffer(reservingCapacity: chunk.count + 128)
                commands.rpush(key: key, value: chunk)
                // The expiry goes on with the first chunk, so a hub that dies mid-snapshot leaves nothing behind for long.
                if unread == 0 { commands.expire(key: key, seconds: ttl) }
                // One chunk in flight: Redis stores chunk k while SQLite reads chunk k+1.
                let previous = unread
                try client.run { conn throws(RedisError) in
                    try conn.send(commands)
                    if previous > 0 { try conn.confirm(previous) }
                }
                unread = commands.count
            }
            let last = unread
            try client.run { conn throws(RedisError) in
                if last > 0 { try conn.confirm(last) }
                if summary.chunks > 0 { try conn.expire(key: key, seconds: ttl) }
            }
        } catch {
            client.close()
            _ = try? client.run { conn throws(RedisError) in try conn.del([key]) }
            throw error
        }
        let announcement = SnapshotAnnouncement(
            key: key.rawValue, epoch: epoch, seq: summary.seq, chunks: summary.chunks, rows: summary.rows, replicas: replicas, buckets: buckets,
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
}
