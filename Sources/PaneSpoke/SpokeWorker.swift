import Foundation
import Logging
import Metrics
import PaneCore
import PaneRedis
import Synchronization

/// Consumes the region stream through the replica's consumer group and applies batches to the
/// replica's SQLite file. Runs on a thread of its own (hiredis blocks).
///
/// On start it creates the group if missing and drains its own pending list (`XREADGROUP … 0`),
/// then reads new entries (`>`). Each batch is one transaction; the XACK follows the commit, so a
/// crash between the two only causes a redelivery, which the apply rule makes harmless.
///
/// Entries that cannot be applied follow ``DeliveryPolicy``: permanent poison is dead-lettered at
/// once, transient failures are retried from the pending list until the delivery limit. Every
/// ``SpokeConfiguration/maintenanceIntervalMs`` the worker also takes over entries that other
/// consumers left pending (`XAUTOCLAIM`), removes long-idle empty consumers and trims the
/// dead-letter stream.
public final class SpokeWorker: Sendable {
    let config: SpokeConfiguration
    let store: ReplicaStore
    public let status: SpokeStatus
    let logger: Logger
    /// Set while the digest thread runs.
    let digestRunning = Atomic<Bool>(false)
    /// Runs the SQLite apply of a full batch while the worker thread reads the next one.
    let applier = DispatchQueue(label: "pane-apply")

    public init(config: SpokeConfiguration, store: ReplicaStore, status: SpokeStatus, logger: Logger) {
        self.config = config
        self.store = store
        self.status = status
        self.logger = logger
    }

    var key: String { Keys.updates(config.region) }
    /// Test hook (`PANE_FAULT_STALL_AFTER_READ=1`): read one batch, then hang, holding it pending.
    let stallAfterRead = ProcessInfo.processInfo.environment["PANE_FAULT_STALL_AFTER_READ"] == "1"
    var group: String { config.replica.group }

    /// Mutable loop state, owned by the worker thread.
    final class Loop {
        var groupReady = false
        /// Non-nil while re-reading our own pending list, from this id on.
        var pendingCursor: String? = "0"
        var claimCursor = "0-0"
        var lastMaintenance = Date.distantPast
        var lastJanitor = Date.distantPast
        var retryAfterMs = 0
        /// An XREADGROUP sent ahead on the reader connection whose reply is not read yet.
        var prefetched = false
        /// Decides when to ask the hub for a resync.
        var detector: GapDetector
        /// Pending entries found deleted from the stream since the last gap check.
        var deletedPending = 0
        /// A full batch whose SQLite apply runs while the next batch is read and decoded.
        var inflight: InflightApply?

        init(gaps: GapDetector.Settings) { detector = GapDetector(settings: gaps) }
    }

    /// Runs until `stop` is set; the batch in progress is applied and acked first.
    public func runBlocking(stop: StopFlag) {
        // Two connections: the reader fetches the next batch while the control connection acks,
        // dead-letters and claims, so Redis prepares batch k+1 while SQLite applies batch k.
        let reader = RedisClient(endpoint: config.redis, readTimeoutMs: config.blockMs + 5_000, logger: logger)
        let client = RedisClient(endpoint: config.redis, readTimeoutMs: config.blockMs + 5_000, logger: logger)
        defer {
            reader.close()
            client.close()
        }
        let loop = Loop(gaps: config.gaps)
        var backoff = Backoff(initialMs: 100, maxMs: 5_000)
        let deadLetters = DeadLetters(region: config.region, replica: config.replica, consumer: config.consumer, logger: logger)
        let latencyLog = config.latencyLogPath.flatMap { LatencyLog(path: $0, logger: logger) }
        logger.info("worker started", metadata: ["stream": "\(key)", "group": "\(group)", "consumer": "\(config.consumer)"])

        while !stop.isStopped {
            do {
                if !loop.groupReady {
                    let created = try client.run { conn throws(RedisError) in
                        try conn.xgroupCreate(key: key, group: group, startID: "0")
                    }
                    if created { logger.info("created consumer group", metadata: ["group": "\(group)"]) }
                    loop.groupReady = true
                }
                if Date().timeIntervalSince(loop.lastMaintenance) * 1000 >= Double(config.maintenanceIntervalMs) {
                    loop.lastMaintenance = Date()
                    try settle(loop: loop, client: client, deadLetters: deadLetters, latencyLog: latencyLog)
                    try maintain(loop: loop, client: client, deadLetters: deadLetters, latencyLog: latencyLog)
                }
                let reading = loop.pendingCursor
                let entries: [StreamEntry]
                if loop.prefetched {
                    loop.prefetched = false
                    entries = try reader.run { conn throws(RedisError) in
                        try conn.receiveEntries(command: "XREADGROUP")
                    }
                } else {
                    entries = try reader.run { conn throws(RedisError) in
                        try conn.xreadgroup(
                            key: key, group: group, consumer: config.consumer, count: config.batchSize,
                            blockMs: reading == nil ? config.blockMs : nil, id: reading ?? ">")
                    }
                }
                if reading == nil && entries.count == config.batchSize && !stop.isStopped {
                    // A full batch: more is likely waiting. Ask for it now, without BLOCK.
                    var ahead = RedisCommandBuffer()
                    ahead.append(
                        RedisConnection.xreadgroupArguments(
                            key: key, group: group, consumer: config.consumer, count: config.batchSize, blockMs: nil))
                    try reader.run { conn throws(RedisError) in try conn.send(ahead) }
                    loop.prefetched = true
                }
                status.contact()
                backoff.reset()
                if reading == nil && entries.count < config.batchSize {
                    // Less than a full batch: nothing more is waiting. A busy stream still lets a
                    // new worker become ready, which an empty read never would.
                    if !status.isReady && !status.isBootstrapping {
                        logger.info("caught up with the stream", metadata: ["maxSeq": "\(status.maxSeq)"])
                    }
                    status.caughtUp()
                }
                if entries.isEmpty {
                    try settle(loop: loop, client: client, deadLetters: deadLetters, latencyLog: latencyLog)
                    if reading != nil { loop.pendingCursor = nil }
                    retryFromPendingIfDue(loop, reader: reader, stop: stop)
                    continue
                }
                if reading != nil, let last = entries.last { loop.pendingCursor = last.id }
                if stallAfterRead {
                    // Test hook: hold the entries pending until the process is killed.
                    logger.critical("test hook: stalling with entries pending", metadata: ["entries": "\(entries.count)"])
                    while true { Thread.sleep(forTimeInterval: 1) }
                }
                // Entries re-read from the pending list carry a delivery count above one.
                let deliveries = reading == nil ? [:] : try deliveryCounts(entries, client: client)
                try process(
                    entries, deliveries: deliveries, loop: loop, client: client, deadLetters: deadLetters, latencyLog: latencyLog,
                    pipelined: loop.prefetched)
                retryFromPendingIfDue(loop, reader: reader, stop: stop)
            } catch let error as RedisError {
                discardPrefetch(loop, reader: reader)
                settleAfterError(loop: loop, client: client, deadLetters: deadLetters, latencyLog: latencyLog)
                if error.kind == .server && error.message.hasPrefix("NOGROUP") {
                    logger.warning("consumer group or stream is gone; re-creating it", metadata: ["group": "\(group)"])
                    loop.groupReady = false
                    loop.pendingCursor = "0"
                    continue
                }
                let delay = backoff.next()
                logger.warning("redis error; retrying", metadata: ["error": "\(error)", "retryInMs": "\(delay)"])
                loop.pendingCursor = "0"
                stop.sleep(ms: delay)
            } catch {
                discardPrefetch(loop, reader: reader)
                settleAfterError(loop: loop, client: client, deadLetters: deadLetters, latencyLog: latencyLog)
                // Unexpected: nothing was acked, so re-read our pending list after a pause.
                let delay = backoff.next()
                logger.error("worker step failed; entries stay pending and will be retried", metadata: ["error": "\(error)", "retryInMs": "\(delay)"])
                loop.pendingCursor = "0"
                stop.sleep(ms: delay)
            }
        }
        // The batch applied in the background is committed and acked before the worker stops.
        settleAfterError(loop: loop, client: client, deadLetters: deadLetters, latencyLog: latencyLog)
        // Entries fetched ahead and not applied stay pending on this consumer; the next start
        // drains them first.
        logger.info("worker stopped", metadata: ["maxSeq": "\(status.maxSeq)"])
    }

    /// Settles the background batch where an error is already being handled: its commit is
    /// waited for; if the ack fails too, its entries stay pending and are re-read, which the
    /// apply rule makes harmless.
    private func settleAfterError(loop: Loop, client: RedisClient, deadLetters: DeadLetters, latencyLog: LatencyLog?) {
        do { try settle(loop: loop, client: client, deadLetters: deadLetters, latencyLog: latencyLog) } catch {
            logger.warning("could not ack a batch applied in the background; it stays pending", metadata: ["error": "\(error)"])
        }
    }

    /// After a transient failure (of this batch or of the one applied in the background): waits,
    /// then re-reads our own pending list, which also holds whatever was fetched ahead.
    private func retryFromPendingIfDue(_ loop: Loop, reader: RedisClient, stop: StopFlag) {
        guard loop.retryAfterMs > 0 else { return }
        discardPrefetch(loop, reader: reader)
        stop.sleep(ms: loop.retryAfterMs)
        loop.retryAfterMs = 0
        loop.pendingCursor = "0"
    }

    /// Drops a fetched-ahead reply; its entries stay in our pending list and are re-read from it.
    private func discardPrefetch(_ loop: Loop, reader: RedisClient) {
        guard loop.prefetched else { return }
        loop.prefetched = false
        reader.close()
    }

    /// Applies what can be applied, dead-letters what must be, acks both; leaves transient
    /// failures pending and sets a retry delay.
    func process(
        _ entries: [StreamEntry], deliveries: [String: Int], loop: Loop, client: RedisClient, deadLetters: DeadLetters, latencyLog: LatencyLog?,
        pipelined: Bool = false
    ) throws {
        var good: [(entry: StreamEntry, update: ContextUpdate)] = []
        var ackIDs: [String] = []
        // Snapshot announcements: for this replica (applied after the batch), or for another
        // (only their seqs are recorded).
        var snapshots: [(entry: StreamEntry, seq: UInt64, announcement: SnapshotAnnouncement)] = []
        var othersSnapshots: [(entry: StreamEntry, seq: UInt64)] = []
        good.reserveCapacity(entries.count)
        for entry in entries {
            guard let fields = entry.fields else {
                // Pending, but trimmed or deleted from the stream: nothing to apply. A gap; resync heals it.
                Counter(label: "pane_spoke_gaps_total", dimensions: labels).increment()
                logger.warning("pending entry no longer in the stream: a gap, resync heals it; acked", metadata: ["entry": "\(entry.id)"])
                loop.deletedPending += 1
                ackIDs.append(entry.id)
                continue
            }
            do {
                let update = try StreamEntryCodec.decode(entryID: entry.id, fields: fields, rules: config.bodyRules)
                if update.op == .snap {
                    let announcement = try SnapshotAnnouncement.decode(update.body)
                    if announcement.isFor(config.replica) {
                        snapshots.append((entry, update.seq, announcement))
                    } else {
                        othersSnapshots.append((entry, update.seq))
                    }
                } else {
                    good.append((entry, update))
                }
            } catch {
                try fail(entry, .permanent(error), deliveries: deliveries[entry.id] ?? 1, loop: loop, client: client, deadLetters: deadLetters)
            }
        }
        // The batch before this one, if its apply is still running, is finished and acked first.
        try settle(loop: loop, client: client, deadLetters: deadLetters, latencyLog: latencyLog)
        if pipelined && snapshots.isEmpty && othersSnapshots.isEmpty && !good.isEmpty {
            // A full batch with more waiting: apply it on the applier thread and return, so the
            // worker reads and decodes the next batch meanwhile. It is acked by the next settle.
            let updates = good.map(\.update)
            loop.inflight = InflightApply(
                good: good, ackIDs: ackIDs, deliveries: deliveries, queue: applier) { [store] in try store.apply(updates) }
            return
        }
        let outcome = Result { try store.apply(good.map(\.update), alsoDone: othersSnapshots.map(\.seq)) }
        if case .failure = outcome, !othersSnapshots.isEmpty {
            _ = try store.apply([], alsoDone: othersSnapshots.map(\.seq))
        }
        ackIDs += othersSnapshots.map(\.entry.id)
        ackIDs += try conclude(good, outcome, deliveries: deliveries, loop: loop, client: client, deadLetters: deadLetters, latencyLog: latencyLog)
        for (entry, seq, announcement) in snapshots {
            try applySnapshot(announcement, entrySeq: seq, client: client)
            ackIDs.append(entry.id)
        }
        try ack(ackIDs, client: client)
    }

    /// Records a batch's apply and returns the ids to ack. If its transaction failed, applies the
    /// entries one by one, so every good entry still lands; the failing ones follow the delivery
    /// policy.
    private func conclude(
        _ good: [(entry: StreamEntry, update: ContextUpdate)], _ outcome: Result<ApplyResult, any Error>, deliveries: [String: Int],
        loop: Loop, client: RedisClient, deadLetters: DeadLetters, latencyLog: LatencyLog?
    ) throws -> [String] {
        switch outcome {
        case .success(let result):
            finish(result, applied: good.map(\.update), latencyLog: latencyLog)
            return good.map(\.entry.id)
        case .failure(let error):
            logger.warning("batch failed; applying its entries one by one", metadata: ["entries": "\(good.count)", "error": "\(error)"])
            var done: [String] = []
            for (entry, update) in good {
                do {
                    let result = try store.apply([update])
                    done.append(entry.id)
                    finish(result, applied: [update], latencyLog: latencyLog)
                } catch {
                    try fail(entry, .transient("\(error)"), deliveries: deliveries[entry.id] ?? 1, loop: loop, client: client, deadLetters: deadLetters)
                }
            }
            return done
        }
    }

    /// Waits for the batch applied in the background, if any, then concludes and acks it as a
    /// synchronous batch would be.
    func settle(loop: Loop, client: RedisClient, deadLetters: DeadLetters, latencyLog: LatencyLog?) throws {
        guard let inflight = loop.inflight else { return }
        loop.inflight = nil
        let done = try conclude(
            inflight.good, inflight.wait(), deliveries: inflight.deliveries, loop: loop, client: client, deadLetters: deadLetters,
            latencyLog: latencyLog)
        try ack(inflight.ackIDs + done, client: client)
    }

    private func ack(_ ids: [String], client: RedisClient) throws {
        guard !ids.isEmpty else { return }
        try client.run { conn throws(RedisError) in _ = try conn.xack(key: key, group: group, ids: ids) }
    }

    private func finish(_ result: ApplyResult, applied: [ContextUpdate], latencyLog: LatencyLog?) {
        status.recordApply(result)
        Counter(label: "pane_spoke_applied_total", dimensions: labels).increment(by: applied.count)
        let lag = Timer(label: "pane_spoke_replication_lag", dimensions: labels)
        for update in applied { lag.recordMilliseconds(max(0, result.committedAtMs - update.hubTimeMs)) }
        latencyLog?.record(applied, committedAtMs: result.committedAtMs)
    }

    /// Follows the delivery policy for one failed entry.
    private func fail(
        _ entry: StreamEntry, _ failure: DeliveryPolicy.Failure, deliveries: Int, loop: Loop, client: RedisClient, deadLetters: DeadLetters
    ) throws {
        switch config.delivery.decide(failure, deliveries: deliveries) {
        case .retry(let afterMs):
            Counter(label: "pane_spoke_retries_total", dimensions: labels).increment()
            logger.warning(
                "entry failed; left pending for a retry",
                metadata: ["entry": "\(entry.id)", "deliveries": "\(deliveries)", "retryInMs": "\(afterMs)", "error": "\(failure.reason)"])
            loop.retryAfterMs = max(loop.retryAfterMs, afterMs)
        case .deadLetter(let reason):
            // Mark first: a crash before the move leaves the entry pending, to be moved (and
            // marked again) on redelivery; a mark is never missing for a dead letter.
            markStale(entry, reason: reason)
            try client.run { conn throws(RedisError) in
                try deadLetters.move(entry, failure: failure, reason: reason, deliveries: deliveries, connection: conn)
            }
        }
    }

    /// Marks the context a dead letter names as stale, when its id can be read.
    private func markStale(_ entry: StreamEntry, reason: String) {
        guard let fields = entry.fields,
            let ctx = fields.first(where: { $0.0 == StreamEntryCodec.Field.ctx }),
            let id = try? ContextID(String(decoding: ctx.1, as: UTF8.self))
        else { return }
        let version = fields.first { $0.0 == StreamEntryCodec.Field.ver }.flatMap { Int64(String(decoding: $0.1, as: UTF8.self)) } ?? 0
        do {
            try store.markStale(id: id, version: version, reason: reason, entryID: entry.id)
        } catch {
            logger.error("could not mark a context stale", metadata: ["ctx": "\(id)", "error": "\(error)"])
        }
    }

    /// Delivery counts of entries re-read from our pending list (XPENDING over their id range).
    private func deliveryCounts(_ entries: [StreamEntry], client: RedisClient) throws -> [String: Int] {
        guard let first = entries.first?.id, let last = entries.last?.id else { return [:] }
        let rows = try client.run { conn throws(RedisError) in
            try conn.xpending(key: key, group: group, start: first, end: last, count: entries.count + 10, consumer: config.consumer)
        }
        return Dictionary(rows.map { ($0.id, $0.deliveries) }, uniquingKeysWith: max)
    }

    /// Takes over idle pending entries of other consumers, removes long-idle empty consumers,
    /// trims the dead-letter stream.
    private func maintain(loop: Loop, client: RedisClient, deadLetters: DeadLetters, latencyLog: LatencyLog?) throws {
        let claim = try client.run { conn throws(RedisError) in
            try conn.xautoclaim(
                key: key, group: group, consumer: config.consumer, minIdleMs: config.claimIdleMs, start: loop.claimCursor,
                count: config.batchSize)
        }
        loop.claimCursor = claim.next
        if !claim.deleted.isEmpty {
            loop.deletedPending += claim.deleted.count
            Counter(label: "pane_spoke_gaps_total", dimensions: labels).increment(by: claim.deleted.count)
            logger.warning(
                "claimed pending entries that were trimmed from the stream: a gap, resync heals it",
                metadata: ["count": "\(claim.deleted.count)", "first": "\(claim.deleted.first ?? "")"])
        }
        if !claim.entries.isEmpty {
            Counter(label: "pane_spoke_claimed_total", dimensions: labels).increment(by: claim.entries.count)
            logger.notice("took over entries another consumer left pending", metadata: ["count": "\(claim.entries.count)", "first": "\(claim.entries.first?.id ?? "")"])
            let deliveries = try deliveryCounts(claim.entries, client: client)
            try process(claim.entries, deliveries: deliveries, loop: loop, client: client, deadLetters: deadLetters, latencyLog: latencyLog)
        }
        try checkGaps(loop: loop, client: client)
        try publishDigestIfDue(client: client)
        // Clean-up runs every minute, or sooner when the idle threshold is shorter.
        if Date().timeIntervalSince(loop.lastJanitor) * 1000 >= Double(min(60_000, config.consumerIdleMs / 2)) {
            loop.lastJanitor = Date()
            try cleanUpConsumers(client: client)
            try client.run { conn throws(RedisError) in
                try deadLetters.trim(maxLength: config.deadLetterMaxLength, maxAgeMs: config.deadLetterMaxAgeMs, connection: conn)
            }
        }
    }

    private func cleanUpConsumers(client: RedisClient) throws {
        let rows = try client.run { conn throws(RedisError) in try conn.xinfoConsumers(key: key, group: group) }
        let consumers = rows.compactMap { row -> ConsumerJanitor.Consumer? in
            guard let name = row["name"]?.string, let pending = row["pending"]?.int, let idle = row["idle"]?.int else { return nil }
            return ConsumerJanitor.Consumer(name: name, pending: Int(pending), idleMs: idle)
        }
        for name in ConsumerJanitor.removable(consumers, me: config.consumer, idleThresholdMs: Int64(config.consumerIdleMs)) {
            try client.run { conn throws(RedisError) in _ = try conn.xgroupDelConsumer(key: key, group: group, consumer: name) }
            logger.notice("removed an idle consumer with nothing pending", metadata: ["consumer": "\(name)"])
        }
    }

    var labels: [(String, String)] { [("region", config.region.name), ("replica", config.replica.name)] }
}

/// A batch being applied on the applier queue; ``wait()`` returns its outcome.
final class InflightApply: @unchecked Sendable {
    let good: [(entry: StreamEntry, update: ContextUpdate)]
    let ackIDs: [String]
    let deliveries: [String: Int]
    private let done = DispatchSemaphore(value: 0)
    // Written on the applier queue before `done` is signalled, read after the wait.
    private var result: Result<ApplyResult, any Error> = .failure(CancellationError())

    init(
        good: [(entry: StreamEntry, update: ContextUpdate)], ackIDs: [String], deliveries: [String: Int], queue: DispatchQueue,
        apply: @escaping @Sendable () throws -> ApplyResult
    ) {
        self.good = good
        self.ackIDs = ackIDs
        self.deliveries = deliveries
        queue.async { [self] in
            result = Result { try apply() }
            done.signal()
        }
    }

    func wait() -> Result<ApplyResult, any Error> {
        done.wait()
        return result
    }
}
