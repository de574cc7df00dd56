import Foundation
import Logging
import Metrics
import PaneCore
import PaneRedis
import PaneRuntime
import PaneStore
import Synchronization

/// Consumes the region stream through the replica's consumer group and applies batches to the
/// replica's SQLite file. Runs on a thread of its own (hiredis blocks).
///
/// On start it creates the group if missing and drains its own pending list (`XREADGROUP … 0`),
/// then reads new entries (`>`). Each batch is one transaction; the XACK follows the commit, so a
/// crash between the two only causes a redelivery, which the apply rule makes harmless. The XACK
/// of a batch applied on the worker thread goes out ahead of the next read, in the read's
/// pipeline: one round trip to Redis per wake-up, not two. A read woken by the first entry of
/// the hub's round is completed before it is applied (``topUp(_:loop:reader:)``): one
/// transaction per round, not two.
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
    /// The digest format the hub says it compares (`pane:{R}:hub` field `digest-format`; 1 when
    /// it does not say): the replica reports in it.
    let hubDigestFormat = Atomic<Int>(1)
    /// Runs the SQLite apply of a full batch while the worker thread reads the next one.
    let applier = DispatchQueue(label: "pane-apply")

    public init(config: SpokeConfiguration, store: ReplicaStore, status: SpokeStatus, logger: Logger, faults: FaultPoints = .active) {
        self.config = config
        self.store = store
        self.status = status
        self.logger = logger
        self.faults = faults
    }

    /// The fault points this worker honours (``FaultPoints``).
    let faults: FaultPoints
    var key: StreamKey { config.region.keys.updates }
    var group: ConsumerGroup { config.replica.consumerGroup }
    var consumer: ConsumerName { ConsumerName(config.consumer) }

    /// Mutable loop state, owned by the worker thread.
    final class Loop {
        var groupReady = false
        /// Non-nil while re-reading our own pending list, from this id on.
        var pendingCursor: String? = "0"
        var claimCursor = "0-0"
        var lastMaintenance = Date.distantPast
        /// The Redis server's eviction policy, checked once a minute.
        var durability = DurabilityWatch()
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
        /// The hub's highest seq for the region as last read from `pane:{R}:hub`; `nil` before
        /// the first read, or when the hub has not written it.
        var hubSeq: UInt64?
        /// Whether ``hubSeq`` was read right after the entries being processed (in the read's
        /// pipeline): then it needs no second read.
        var hubSeqFresh = false
        /// How long the replica's watermark has been behind the hub's seq (readiness).
        var lag = ReplicaLag()
        /// Ids of entries applied and committed (or dead-lettered, or gaps) whose XACK is not
        /// sent yet: it goes out ahead of the next read, in its pipeline (``flushAcks(_:client:)``
        /// where no read follows).
        var unacked: [String] = []
        /// The ids of the XACK sent ahead of the read whose replies are being received; put back
        /// into ``unacked`` when the read fails before that reply came (XACK is idempotent).
        var acksSent: [String] = []
        /// The handles of the metrics every batch records.
        let metrics: ApplyMetrics

        init(gaps: GapDetector.Settings, labels: [(String, String)]) {
            detector = GapDetector(settings: gaps)
            metrics = ApplyMetrics(labels: labels)
        }

        /// A read failed: the acks it carried, if their reply did not come, are sent again.
        func requeueAcks() {
            unacked = acksSent + unacked
            acksSent = []
        }
    }

    /// Runs until `stop` is set; the batch in progress is applied and acked first.
    ///
    /// Redis errors are retried with backoff for as long as they last. Other failures of a step
    /// count in a ``FailureStreak``; when it says stop, the worker settles what it can and throws
    /// (``RetriesExhausted``). Nothing unacked is lost: it stays pending for the next start.
    public func runBlocking(stop: StopFlag) throws {
        // Two connections: the reader fetches the next batch while the control connection acks,
        // dead-letters and claims, so Redis prepares batch k+1 while SQLite applies batch k.
        let reader = config.topology.client(for: config.region, readTimeoutMs: config.blockMs + 5_000, logger: logger)
        let client = config.topology.client(for: config.region, readTimeoutMs: config.blockMs + 5_000, logger: logger)
        defer {
            reader.close()
            client.close()
        }
        let loop = Loop(gaps: config.gaps, labels: labels)
        let started = ContinuousClock.now
        // At most 1 s between retries: a Redis failover or restart is over in seconds, and a
        // refused connect costs Redis nothing.
        var backoff = Backoff(initialMs: 100, maxMs: 1_000)
        var failures = FailureStreak()
        let deadLetters = DeadLetters(region: config.region, replica: config.replica, consumer: config.consumer, logger: logger, faults: faults)
        let latencyLog = config.latencyLogPath.flatMap { LatencyLog(path: $0, logger: logger) }
        defer {
            // Runs before the connections close: what was applied is acked (else it stays pending
            // and is redelivered, which the apply rule makes harmless), and the buffered latency
            // lines are written.
            do { try flushAcks(loop, client: client) } catch {
                logger.warning("could not ack applied entries; they stay pending", metadata: ["error": "\(error)"])
            }
            latencyLog?.close()
        }
        logger.info("worker started", metadata: ["stream": "\(key)", "group": "\(group)", "consumer": "\(config.consumer)"])
        // A replica whose bootstrap a stopped process left unfinished is still bootstrapping: not
        // ready when the first read comes back empty, before the first gap check looks.
        if (try? store.resyncView().inFlight?.bootstrapping) == true { status.setBootstrapping(true) }
        // The counters an alert watches exist from the start, at 0.
        for label in MetricCatalog.counters(.spoke, labels: ["region", "replica"]) {
            Counter(label: label, dimensions: labels).increment(by: 0)
        }
        for label in MetricCatalog.counters(.spoke, labels: ["region"]) {
            Counter(label: label, dimensions: [("region", config.region.name)]).increment(by: 0)
        }
        for kind in ["permanent", "transient"] {
            Counter(label: "pane_spoke_dead_letters_total", dimensions: labels + [("kind", kind)]).increment(by: 0)
        }
        for reason in GapDetector.Reason.allCases {
            Counter(label: "pane_spoke_resync_requests_total", dimensions: labels + [("reason", reason.rawValue)]).increment(by: 0)
        }

        while !stop.isStopped {
            do {
                try faults.failIfDue(.worker, started: started)
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
                    try flushAcks(loop, client: client)
                }
                let reading = loop.pendingCursor
                let entries: [StreamEntry]
                // Each read carries the hub's highest seq, read right after the entries (EntryIDRule),
                // and the ack of the batch before, ahead of it.
                if loop.prefetched {
                    loop.prefetched = false
                } else {
                    let read = readCommands(blockMs: reading == nil ? config.blockMs : nil, id: reading ?? ">", acks: loop.unacked)
                    try reader.run { conn throws(RedisError) in try conn.send(read) }
                    loop.acksSent = loop.unacked
                    loop.unacked = []
                }
                let received = try reader.run { conn throws(RedisError) in try receiveRead(conn, loop: loop) }
                // A read woken by the first entry of the hub's round: the rest of the round first.
                entries = reading == nil ? try topUp(received, loop: loop, reader: reader) : received
                if reading == nil && entries.count == config.batchSize && !stop.isStopped {
                    // A full batch: more is likely waiting. Ask for it now, without BLOCK.
                    let ahead = readCommands(blockMs: nil, id: ">")
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
                    failures.succeeded()
                    retryFromPendingIfDue(loop, reader: reader, stop: stop)
                    continue
                }
                if reading != nil, let last = entries.last { loop.pendingCursor = last.id }
                if faults.stallAfterRead {
                    // Fault point: hold the entries pending until the process is killed.
                    logger.critical("test hook: stalling with entries pending", metadata: ["entries": "\(entries.count)"])
                    while true { Thread.sleep(forTimeInterval: 1) }
                }
                // Entries re-read from the pending list carry a delivery count above one.
                let deliveries = reading == nil ? [:] : try deliveryCounts(entries, client: client)
                try process(
                    entries, deliveries: deliveries, loop: loop, client: client, deadLetters: deadLetters, latencyLog: latencyLog,
                    pipelined: loop.prefetched)
                // The next read is already out: it cannot carry the ack.
                if loop.prefetched { try flushAcks(loop, client: client) }
                failures.succeeded()
                retryFromPendingIfDue(loop, reader: reader, stop: stop)
            } catch let error as RedisError {
                loop.requeueAcks()
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
                loop.requeueAcks()
                discardPrefetch(loop, reader: reader)
                settleAfterError(loop: loop, client: client, deadLetters: deadLetters, latencyLog: latencyLog)
                // Nothing was acked: what was read stays pending for the retry or the next start.
                try failures.record(error)
                // Unexpected: re-read our pending list after a pause.
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
    func settleAfterError(loop: Loop, client: RedisClient, deadLetters: DeadLetters, latencyLog: LatencyLog?) {
        do { try settle(loop: loop, client: client, deadLetters: deadLetters, latencyLog: latencyLog) } catch {
            logger.warning("could not ack a batch applied in the background; it stays pending", metadata: ["error": "\(error)"])
        }
    }

    /// After a transient failure (of this batch or of the one applied in the background): waits,
    /// then re-reads our own pending list, which also holds whatever was fetched ahead.
    func retryFromPendingIfDue(_ loop: Loop, reader: RedisClient, stop: StopFlag) {
        guard loop.retryAfterMs > 0 else { return }
        discardPrefetch(loop, reader: reader)
        stop.sleep(ms: loop.retryAfterMs)
        loop.retryAfterMs = 0
        loop.pendingCursor = "0"
    }

    /// Drops a fetched-ahead reply; its entries stay in our pending list and are re-read from it.
    func discardPrefetch(_ loop: Loop, reader: RedisClient) {
        guard loop.prefetched else { return }
        loop.prefetched = false
        reader.close()
    }

    var labels: [(String, String)] { [("region", config.region.name), ("replica", config.replica.name)] }
}
