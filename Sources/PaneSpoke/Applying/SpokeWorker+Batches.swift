import Foundation
import Logging
import Metrics
import PaneCore
import PaneRedis
import PaneRuntime
import PaneStore

extension SpokeWorker {
    /// Applies what can be applied, dead-letters what must be, acks both; leaves transient
    /// failures pending and sets a retry delay. The ack of a batch applied here is queued in
    /// `loop.unacked` (its commit is done): it goes out ahead of the next read, in the read's
    /// pipeline (``flushAcks(_:client:)`` where no read follows).
    func process(
        _ entries: [StreamEntry], deliveries: [String: Int], loop: Loop, client: RedisClient, deadLetters: DeadLetters, latencyLog: LatencyLog?,
        pipelined: Bool = false
    ) throws {
        var good: [(entry: StreamEntry, update: ContextUpdate)] = []
        var ackIDs: [String] = []
        // Snapshot announcements: for this replica and allowed by the guard (applied after the
        // batch), for another (only their seqs are recorded), or refused (dead letters).
        var snapshots: [(entry: StreamEntry, seq: UInt64, announcement: SnapshotAnnouncement)] = []
        var othersSnapshots: [(entry: StreamEntry, seq: UInt64)] = []
        good.reserveCapacity(entries.count)
        let idProblems = try entryIDProblems(entries, loop: loop, client: client)
        for entry in entries {
            guard let fields = entry.fields else {
                // Pending, but trimmed or deleted from the stream: nothing to apply. A gap; resync heals it.
                Counter(label: "pane_spoke_gaps_total", dimensions: labels).increment()
                logger.warning("pending entry no longer in the stream: a gap, resync heals it; acked", metadata: ["entry": "\(entry.id)"])
                loop.deletedPending += 1
                ackIDs.append(entry.id)
                continue
            }
            if let problem = idProblems[entry.id] {
                try fail(entry, .permanent(problem), deliveries: deliveries[entry.id] ?? 1, loop: loop, client: client, deadLetters: deadLetters)
                continue
            }
            let decoded: (update: ContextUpdate, announcement: SnapshotAnnouncement?)
            do {
                let update = try StreamEntryCodec.decode(entryID: entry.id, fields: fields, rules: config.bodyRules)
                decoded = (update, update.op == .snap ? try SnapshotAnnouncement.decode(update.body) : nil)
            } catch {
                try fail(entry, .permanent(error), deliveries: deliveries[entry.id] ?? 1, loop: loop, client: client, deadLetters: deadLetters)
                continue
            }
            guard let announcement = decoded.announcement else {
                good.append((entry, decoded.update))
                continue
            }
            switch try guardSnapshot(announcement, entry: entry, entrySeq: decoded.update.seq, client: client) {
            case .apply:
                snapshots.append((entry, decoded.update.seq, announcement))
            case .notForThisReplica:
                othersSnapshots.append((entry, decoded.update.seq))
            case .refuse(let error):
                try fail(entry, .permanent(error), deliveries: deliveries[entry.id] ?? 1, loop: loop, client: client, deadLetters: deadLetters)
            }
        }
        // The batch before this one, if its apply is still running, is finished first. Its ack
        // is queued: it goes out once this batch's apply has started (after `process` returns,
        // or in the next read's pipeline), not while the applier waits for it.
        try settle(loop: loop, client: client, deadLetters: deadLetters, latencyLog: latencyLog, ackLater: true)
        if pipelined && snapshots.isEmpty && othersSnapshots.isEmpty && !good.isEmpty {
            // A full batch with more waiting: apply it on the applier thread and return, so the
            // worker reads and decodes the next batch meanwhile. It is acked by the next settle.
            let updates = good.map(\.update)
            loop.inflight = InflightApply(
                good: good, ackIDs: ackIDs, deliveries: deliveries, queue: applier
            ) { [store, timer = loop.metrics.applyDuration] in try Self.timed(timer) { try store.apply(updates) } }
            return
        }
        let outcome = Result {
            try Self.timed(loop.metrics.applyDuration) { try store.apply(good.map(\.update), alsoDone: othersSnapshots.map(\.seq)) }
        }
        if case .failure = outcome, !othersSnapshots.isEmpty {
            _ = try store.apply([], alsoDone: othersSnapshots.map(\.seq))
        }
        ackIDs += othersSnapshots.map(\.entry.id)
        ackIDs += try conclude(good, outcome, deliveries: deliveries, loop: loop, client: client, deadLetters: deadLetters, latencyLog: latencyLog)
        for (entry, seq, announcement) in snapshots {
            try applySnapshot(announcement, entrySeq: seq, client: client)
            ackIDs.append(entry.id)
        }
        loop.unacked += ackIDs
    }

    /// Records a batch's apply and returns the ids to ack. If its transaction failed, applies the
    /// entries one by one, so every good entry still lands; the failing ones follow the delivery
    /// policy. A failure meaning the file is unusable (``StoreErrors/leavesFileUnusable(_:)``)
    /// is no entry's fault: it is thrown, nothing is acked or dead-lettered, and the worker's
    /// failure streak decides whether to retry or stop.
    func conclude(
        _ good: [(entry: StreamEntry, update: ContextUpdate)], _ outcome: Result<ApplyResult, any Error>, deliveries: [String: Int],
        loop: Loop, client: RedisClient, deadLetters: DeadLetters, latencyLog: LatencyLog?
    ) throws -> [String] {
        switch outcome {
        case .success(let result):
            finish(result, applied: good.map(\.update), metrics: loop.metrics, latencyLog: latencyLog)
            return good.map(\.entry.id)
        case .failure(let error) where StoreErrors.leavesFileUnusable(error):
            throw error
        case .failure(let error):
            logger.warning("batch failed; applying its entries one by one", metadata: ["entries": "\(good.count)", "error": "\(error)"])
            var done: [String] = []
            for (entry, update) in good {
                do {
                    let result = try store.apply([update])
                    done.append(entry.id)
                    finish(result, applied: [update], metrics: loop.metrics, latencyLog: latencyLog)
                } catch {
                    try fail(entry, .transient("\(error)"), deliveries: deliveries[entry.id] ?? 1, loop: loop, client: client, deadLetters: deadLetters)
                }
            }
            return done
        }
    }

    /// Waits for the batch applied in the background, if any, then concludes and acks it as a
    /// synchronous batch would be: at once, or with `ackLater` queued in `loop.unacked` (the
    /// next read's pipeline or ``flushAcks(_:client:)`` sends it).
    func settle(loop: Loop, client: RedisClient, deadLetters: DeadLetters, latencyLog: LatencyLog?, ackLater: Bool = false) throws {
        guard let inflight = loop.inflight else { return }
        loop.inflight = nil
        let done = try conclude(
            inflight.good, inflight.wait(), deliveries: inflight.deliveries, loop: loop, client: client, deadLetters: deadLetters,
            latencyLog: latencyLog)
        if ackLater {
            loop.unacked += inflight.ackIDs + done
        } else {
            try ack(inflight.ackIDs + done, client: client)
        }
    }

    func ack(_ ids: [String], client: RedisClient) throws {
        guard !ids.isEmpty else { return }
        try client.run { conn throws(RedisError) in _ = try conn.xack(key: key, group: group, ids: ids) }
    }

    /// Acks the queued ids (`loop.unacked`) on the control connection, where no read will carry
    /// them: before maintenance ends, when a read was already sent ahead, when the worker stops.
    /// If it fails they stay queued, and pending in Redis: a later read or flush acks them.
    func flushAcks(_ loop: Loop, client: RedisClient) throws {
        guard !loop.unacked.isEmpty else { return }
        try ack(loop.unacked, client: client)
        loop.unacked = []
    }

    func finish(_ result: ApplyResult, applied: [ContextUpdate], metrics: ApplyMetrics, latencyLog: LatencyLog?) {
        status.recordApply(result)
        metrics.applied.increment(by: applied.count)
        let lag = metrics.lag
        var replayed = 0
        for update in applied {
            // A re-sent entry carries its original commit time: minutes old, and not lag.
            if update.replay {
                replayed += 1
            } else {
                lag.recordMicroseconds(max(0, result.committedAtUs - update.hubTimeUs))
            }
        }
        if replayed > 0 { metrics.replayed.increment(by: replayed) }
        latencyLog?.record(applied, committedAtUs: result.committedAtUs)
    }

    /// Runs one apply transaction, recording how long it took (`pane_spoke_apply_duration_seconds`).
    static func timed<T>(_ timer: Timer, _ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            let elapsed = DispatchTime.now().uptimeNanoseconds - start
            timer.recordNanoseconds(Int64(clamping: elapsed))
        }
        return try body()
    }
}
