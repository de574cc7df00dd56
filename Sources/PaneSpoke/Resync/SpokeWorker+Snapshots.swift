import Foundation
import Logging
import Metrics
import PaneCore
import PaneRedis
import PaneRuntime
import PaneStore

/// Applying a snapshot announced for this replica, chunk by chunk, resuming after a crash.
extension SpokeWorker {
    /// Applies a snapshot announced for this replica, from the first chunk not yet applied.
    /// Redis errors propagate (the announcement stays pending and is retried); a snapshot that
    /// is gone or unreadable is given up, and the gap detector asks again.
    func applySnapshot(_ announcement: SnapshotAnnouncement, entrySeq: UInt64, client: RedisClient) throws {
        let started = Date()
        let first = try store.snapshotChunksDone(epoch: announcement.epoch)
        if first > 0 {
            logger.notice("resuming a snapshot", metadata: ["epoch": "\(announcement.epoch)", "chunk": "\(first)", "chunks": "\(announcement.chunks)"])
        } else {
            logger.notice(
                "applying a snapshot",
                metadata: [
                    "epoch": "\(announcement.epoch)", "seq": "\(announcement.seq)", "rows": "\(announcement.rows)",
                    "chunks": "\(announcement.chunks)", "buckets": "\(announcement.buckets.map { "\($0.count)" } ?? "all")",
                    "reason": "\(announcement.reason)",
                ])
        }
        var failed = 0
        var lastLog = Date()
        // The next chunk is requested before the current one is applied, so Redis sends it
        // while SQLite writes.
        func request(_ index: Int) throws {
            var command = RedisCommandBuffer()
            command.lindex(key: announcement.listKey, index: index)
            try client.run { conn throws(RedisError) in try conn.send(command) }
        }
        let end = max(first, announcement.chunks)
        if first < end { try request(first) }
        for index in first..<end {
            let reply = try client.run { conn throws(RedisError) in try conn.receive(1)[0] }
            if index + 1 < end { try request(index + 1) }
            let rows: [SnapshotRow]
            do {
                guard let bytes = reply.bytes else { throw SnapshotGone(detail: "chunk \(index) of \(announcement.key) is gone (expired?)") }
                rows = try SnapshotChunkCodec.decode(bytes)
            } catch {
                client.close()  // drops the next chunk's reply, if one was asked for
                logger.error("cannot apply the snapshot; will ask for a new one", metadata: ["epoch": "\(announcement.epoch)", "error": "\(error)"])
                Counter(label: "pane_spoke_snapshots_abandoned_total", dimensions: labels).increment()
                try store.abandonResync()
                try store.apply([], alsoDone: [entrySeq])
                return
            }
            do {
                failed += try store.applySnapshotChunk(rows, announcement: announcement, index: index, requestID: nil).count
            } catch {
                client.close()  // the next chunk's reply is unread; the retry starts on a new connection
                throw error
            }
            if let delay = faults.snapshotChunkDelayMs { Thread.sleep(forTimeInterval: Double(delay) / 1000) }
            if Date().timeIntervalSince(lastLog) >= 5 {
                lastLog = Date()
                logger.notice("snapshot progress", metadata: ["epoch": "\(announcement.epoch)", "chunk": "\(index + 1)", "chunks": "\(announcement.chunks)"])
            }
        }
        let finish = try store.finishSnapshot(announcement, entrySeq: entrySeq, rows: announcement.rows)
        status.setBootstrapping(false)
        Counter(label: "pane_spoke_snapshots_applied_total", dimensions: labels).increment()
        Timer(label: "pane_spoke_resync_duration_seconds", dimensions: labels).recordSeconds(Date().timeIntervalSince(started))
        Counter(label: "pane_spoke_snapshot_rows_total", dimensions: labels).increment(by: announcement.rows)
        logger.notice(
            "snapshot applied",
            metadata: [
                "epoch": "\(announcement.epoch)", "rows": "\(announcement.rows)", "removed": "\(finish.removed)", "healed": "\(finish.healed)",
                "failedRows": "\(failed)", "watermark": "\(finish.watermark)", "seconds": "\(String(format: "%.2f", Date().timeIntervalSince(started)))",
            ])
        if announcement.buckets == nil { try skipGroupAhead(to: announcement.seq, client: client) }
    }

    /// After a full snapshot current to `seq`, entries at or below it need not be read: move the
    /// group's last delivered id up to it when the group lags behind.
    func skipGroupAhead(to seq: UInt64, client: RedisClient) throws {
        let groups = try client.run { conn throws(RedisError) in try conn.xinfoGroups(key: key) }
        guard let info = groups.first(where: { $0["name"]?.string == group.rawValue }),
            let delivered = info["last-delivered-id"]?.string.flatMap(Self.seqPart), delivered < seq
        else { return }
        _ = try client.run { conn throws(RedisError) in
            try conn.xgroupSetID(key: key, group: group, id: StreamEntryCodec.entryID(seq: seq))
        }
        logger.info("moved the group past the snapshot", metadata: ["from": "\(delivered)", "to": "\(seq)"])
    }

    /// The `ms` part of a stream id: the seq for ids the hub wrote.
    static func seqPart(_ id: String) -> UInt64? {
        id.split(separator: "-").first.flatMap { UInt64($0) }
    }
}

struct SnapshotGone: Error, CustomStringConvertible {
    let detail: String
    var description: String { detail }
}
