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
        let reader = SnapshotChunkReader(announcement, first: first, client: client, stallMs: config.gaps.requestTimeoutMs)
        // Chunk k is written to SQLite on the applier queue while this thread receives and
        // decodes chunk k+1. One chunk at most is in flight, and each is still its own
        // transaction with its progress, committed in order: a crash resumes after the last one.
        var inflight: (index: Int, apply: BackgroundResult<Int>)?
        /// Waits for the chunk in flight; its failed rows, or its error (the connection is closed
        /// then: the next chunk's reply is unread, and the retry starts on a new connection).
        func settle() throws {
            guard let (index, apply) = inflight else { return }
            inflight = nil
            do { failed += try apply.wait().get() } catch {
                client.close()
                throw error
            }
            if Date().timeIntervalSince(lastLog) >= 5 {
                lastLog = Date()
                let chunks = announcement.isStreamed ? "streamed" : "\(announcement.chunks)"
                logger.notice("snapshot progress", metadata: ["epoch": "\(announcement.epoch)", "chunk": "\(index + 1)", "chunks": "\(chunks)"])
            }
        }
        while true {
            let rows: [SnapshotRow]
            do {
                guard let next = try reader.next() else { break }
                rows = next
            } catch let error as SnapshotGone {
                try settle()
                client.close()  // drops the next chunk's reply, if one was asked for
                logger.error("cannot apply the snapshot; will ask for a new one", metadata: ["epoch": "\(announcement.epoch)", "error": "\(error)"])
                Counter(label: "pane_spoke_snapshots_abandoned_total", dimensions: labels).increment()
                try store.abandonResync()
                try store.apply([], alsoDone: [entrySeq])
                return
            } catch {
                _ = inflight?.apply.wait()
                inflight = nil
                client.close()
                throw error
            }
            try settle()
            let index = reader.index - 1
            inflight = (
                index,
                BackgroundResult(on: applier) { [store, faults] in
                    let failed = try store.applySnapshotChunk(rows, announcement: announcement, index: index, requestID: nil).count
                    if let delay = faults.snapshotChunkDelayMs { Thread.sleep(forTimeInterval: Double(delay) / 1000) }
                    return failed
                }
            )
        }
        try settle()
        let rows = reader.totals?.rows ?? announcement.rows
        let finish = try store.finishSnapshot(announcement, entrySeq: entrySeq, rows: rows)
        status.setBootstrapping(false)
        Counter(label: "pane_spoke_snapshots_applied_total", dimensions: labels).increment()
        Timer(label: "pane_spoke_resync_duration_seconds", dimensions: labels).recordSeconds(Date().timeIntervalSince(started))
        Counter(label: "pane_spoke_snapshot_rows_total", dimensions: labels).increment(by: rows)
        logger.notice(
            "snapshot applied",
            metadata: [
                "epoch": "\(announcement.epoch)", "rows": "\(rows)", "removed": "\(finish.removed)", "healed": "\(finish.healed)",
                "streamed": "\(announcement.isStreamed)", "waitedSeconds": "\(String(format: "%.2f", reader.waitedSeconds))",
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
