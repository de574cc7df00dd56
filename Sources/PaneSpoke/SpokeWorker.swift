import Foundation
import Logging
import Metrics
import PaneCore
import PaneRedis

/// Consumes the region stream through the replica's consumer group and applies batches to the
/// replica's SQLite file. Runs on a thread of its own (hiredis blocks).
///
/// On start it creates the group if missing and drains its own pending list (`XREADGROUP … 0`),
/// then reads new entries (`>`). Each batch is one transaction; the XACK follows the commit, so a
/// crash between the two only causes a redelivery, which the apply rule makes harmless.
public final class SpokeWorker: Sendable {
    let config: SpokeConfiguration
    let store: ReplicaStore
    public let status: SpokeStatus
    let logger: Logger

    public init(config: SpokeConfiguration, store: ReplicaStore, status: SpokeStatus, logger: Logger) {
        self.config = config
        self.store = store
        self.status = status
        self.logger = logger
    }

    var key: String { Keys.updates(config.region) }
    var group: String { config.replica.group }

    /// Runs until `stop` is set; the batch in progress is applied and acked first.
    public func runBlocking(stop: StopFlag) {
        let client = RedisClient(endpoint: config.redis, readTimeoutMs: config.blockMs + 5_000, logger: logger)
        defer { client.close() }
        var groupReady = false
        // Start by re-reading our own pending list: entries delivered before a crash or restart.
        var pendingCursor: String? = "0"
        var reported = Set<String>()
        var backoff = Backoff(initialMs: 100, maxMs: 5_000)
        let appliedCounter = Counter(label: "pane_spoke_applied_total", dimensions: labels)
        let malformedCounter = Counter(label: "pane_spoke_malformed_total", dimensions: labels)
        let lagTimer = Timer(label: "pane_spoke_replication_lag", dimensions: labels)
        let latencyLog = config.latencyLogPath.flatMap { LatencyLog(path: $0, logger: logger) }
        logger.info("worker started", metadata: ["stream": "\(key)", "group": "\(group)", "consumer": "\(config.consumer)"])

        while !stop.isStopped {
            do {
                if !groupReady {
                    let created = try client.run { conn throws(RedisError) in
                        try conn.xgroupCreate(key: key, group: group, startID: "0")
                    }
                    if created { logger.info("created consumer group", metadata: ["group": "\(group)"]) }
                    groupReady = true
                }
                let entries = try client.run { conn throws(RedisError) in
                    try conn.xreadgroup(
                        key: key, group: group, consumer: config.consumer, count: config.batchSize,
                        blockMs: pendingCursor == nil ? config.blockMs : nil, id: pendingCursor ?? ">")
                }
                status.contact()
                backoff.reset()
                if entries.isEmpty {
                    if pendingCursor != nil {
                        pendingCursor = nil
                    } else {
                        if !status.isReady { logger.info("caught up with the stream", metadata: ["maxSeq": "\(status.maxSeq)"]) }
                        status.caughtUp()
                    }
                    continue
                }
                if pendingCursor != nil, let last = entries.last { pendingCursor = last.id }

                var updates: [ContextUpdate] = []
                var ackIDs: [String] = []
                updates.reserveCapacity(entries.count)
                for entry in entries {
                    guard let fields = entry.fields else {
                        // Pending, but its data was trimmed or deleted: nothing to apply. The gap is
                        // healed by resync; acking keeps it from being re-read forever.
                        logger.warning("pending entry no longer in the stream; acking it", metadata: ["entry": "\(entry.id)"])
                        ackIDs.append(entry.id)
                        continue
                    }
                    do {
                        updates.append(try StreamEntryCodec.decode(entryID: entry.id, fields: fields, rules: config.bodyRules))
                        ackIDs.append(entry.id)
                    } catch {
                        // Left pending on purpose: it is never acked, so it is not lost.
                        if reported.insert(entry.id).inserted {
                            malformedCounter.increment()
                            logger.error(
                                "malformed stream entry left pending",
                                metadata: ["entry": "\(entry.id)", "field": "\(error.field)", "reason": "\(error)"])
                        }
                    }
                }
                let result = try store.apply(updates)
                try client.run { conn throws(RedisError) in _ = try conn.xack(key: key, group: group, ids: ackIDs) }
                status.recordApply(result)
                appliedCounter.increment(by: updates.count)
                for update in updates {
                    lagTimer.recordMilliseconds(max(0, result.committedAtMs - update.hubTimeMs))
                }
                latencyLog?.record(updates, committedAtMs: result.committedAtMs)
            } catch let error as RedisError {
                if error.kind == .server && error.message.hasPrefix("NOGROUP") {
                    logger.warning("consumer group or stream is gone; re-creating it", metadata: ["group": "\(group)"])
                    groupReady = false
                    pendingCursor = "0"
                    continue
                }
                let delay = backoff.next()
                logger.warning("redis error; retrying", metadata: ["error": "\(error)", "retryInMs": "\(delay)"])
                stop.sleep(ms: delay)
            } catch {
                // SQLite busy, disk full, or a bug: nothing was acked, so re-read our pending list.
                let delay = backoff.next()
                logger.error("apply failed; entries stay pending and will be retried", metadata: ["error": "\(error)", "retryInMs": "\(delay)"])
                pendingCursor = "0"
                stop.sleep(ms: delay)
            }
        }
        logger.info("worker stopped", metadata: ["maxSeq": "\(status.maxSeq)"])
    }

    private var labels: [(String, String)] { [("region", config.region.name), ("replica", config.replica.name)] }
}
