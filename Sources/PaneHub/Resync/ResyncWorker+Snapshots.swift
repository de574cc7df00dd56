import Foundation
import Logging
import Metrics
import PaneCore
import PaneRedis
import PaneRuntime
import PaneStore

extension ResyncWorker {
    /// Writes one snapshot that answers every request in `requests`, and announces it.
    ///
    /// When every request says its replica applies a streamed snapshot (``ResyncRequest/streaming``),
    /// the snapshot is announced first and streamed: the list gets its `begin` element, the
    /// announcement goes into the outbox from inside the snapshot's read transaction, and the
    /// chunks follow while the replica already applies the first ones (``SnapshotStreamCodec``).
    /// Otherwise (a request from a spoke from before streaming, an admin request for every
    /// replica, anti-entropy) every chunk is written before the announcement, as before.
    @discardableResult
    func serve(_ requests: [ResyncRequest], region: Region, client: RedisClient, state: inout State) throws -> SnapshotAnnouncement {
        let started = Date()
        let full = requests.contains { $0.buckets == nil }
        let buckets: [Int]? = full ? nil : Array(Set(requests.flatMap { $0.buckets ?? [] })).sorted()
        let replicas: [String]? =
            requests.contains { $0.replica == nil } ? nil : Array(Set(requests.compactMap(\.replica))).sorted()
        let reason = Array(Set(requests.map(\.reason))).sorted().joined(separator: ",")
        let streamed = !requests.isEmpty && requests.allSatisfy { $0.streaming == true && $0.replica != nil }
        let epoch = state.nextEpoch()
        let key = region.keys.snapshot(epoch: epoch, streamed: streamed)
        let ttl = config.snapshotTtlSeconds
        var announcement = SnapshotAnnouncement(
            key: key.rawValue, epoch: epoch, seq: 0, chunks: 0, rows: 0, replicas: replicas, buckets: buckets,
            requestIDs: requests.map(\.requestID), reason: reason, streamed: streamed ? true : nil)
        var bytes = 0
        var unread = 0
        var chunks = 0
        var streamedEntrySeq: UInt64?
        var synced = false
        // One element in flight: Redis stores element k while SQLite reads the rows of k+1.
        func push(_ element: [UInt8]) throws {
            bytes += element.count
            var commands = RedisCommandBuffer(reservingCapacity: element.count + 128)
            commands.rpush(key: key, value: element)
            // The expiry goes on with the first element, so a hub that dies mid-snapshot leaves nothing behind for long.
            if bytes == element.count { commands.expire(key: key, seconds: ttl) }
            let previous = unread
            try client.run { conn throws(RedisError) in
                try conn.send(commands)
                if previous > 0 { try conn.confirm(previous) }
            }
            unread = commands.count
        }
        func drain() throws {
            let last = unread
            unread = 0
            if last > 0 { try client.run { conn throws(RedisError) in try conn.confirm(last) } }
        }
        // Published data too: the read transaction has begun, so a sync now covers every commit
        // it sees (hub.durability).
        func syncOnce() throws {
            if !synced {
                try store.syncBeforePublish()
                synced = true
            }
        }
        let summary: HubStore.SnapshotSummary
        do {
            let began: ((UInt64) throws -> Void)? =
                streamed
                ? { [self] seq in
                    try syncOnce()
                    try push(SnapshotStreamCodec.begin(epoch: epoch, seq: seq))
                    try drain()  // the list exists before a replica can read the announcement
                    announcement.seq = seq
                    streamedEntrySeq = try self.store.announce(region: region, announcement: announcement)
                } : nil
            summary = try store.snapshot(
                region: region, buckets: buckets, chunkRows: config.chunkRows, chunkBytes: config.chunkBytes, began: began
            ) { rows in
                try syncOnce()
                try push(streamed ? SnapshotStreamCodec.chunk(index: chunks, rows: rows) : SnapshotChunkCodec.encode(rows))
                chunks += 1
                if let delay = faults.snapshotWriteDelayMs { Thread.sleep(forTimeInterval: Double(delay) / 1000) }
            }
            if streamed { try push(SnapshotStreamCodec.end(chunks: summary.chunks, rows: summary.rows)) }
            try drain()
            if bytes > 0 { _ = try client.run { conn throws(RedisError) in try conn.expire(key: key, seconds: ttl) } }
        } catch {
            // A replica reading a streamed snapshot sees the list gone and gives it up.
            client.close()
            _ = try? client.run { conn throws(RedisError) in try conn.del([key]) }
            throw error
        }
        announcement.seq = summary.seq
        announcement.chunks = summary.chunks
        announcement.rows = summary.rows
        let entrySeq = try streamedEntrySeq ?? store.announce(region: region, announcement: announcement)
        let seconds = Date().timeIntervalSince(started)
        Counter(label: "pane_hub_snapshots_total", dimensions: [("region", region.name)]).increment()
        Counter(label: "pane_hub_snapshot_rows_total", dimensions: [("region", region.name)]).increment(by: summary.rows)
        Counter(label: "pane_hub_snapshot_bytes_total", dimensions: [("region", region.name)]).increment(by: bytes)
        logger.notice(
            "resync snapshot announced",
            metadata: [
                "region": "\(region.name)", "reason": "\(reason)", "rows": "\(summary.rows)", "chunks": "\(summary.chunks)",
                "bytes": "\(bytes)", "seconds": "\(String(format: "%.3f", seconds))", "seq": "\(summary.seq)", "entrySeq": "\(entrySeq)",
                "key": "\(key)", "replicas": "\(replicas?.joined(separator: ",") ?? "all")", "streamed": "\(streamed)",
                "buckets": "\(buckets.map { String($0.count) } ?? "all")", "requests": "\(requests.count)",
            ])
        return announcement
    }
}
