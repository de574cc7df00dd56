import Foundation
import Logging
import Metrics
import PaneCore
import PaneRedis
import PaneRuntime

/// Moves entries to `pane:{R}:dlq` and acks them in one MULTI/EXEC: both happen or neither does.
///
/// A dead letter holds the original fields, then `dlq-*` fields: the reason, its kind
/// (permanent or transient), replica, consumer, deliveries, time and the original entry id.
struct DeadLetters {
    let region: Region
    let replica: ReplicaName
    let consumer: String
    let logger: Logger

    /// Test hooks (environment): `PANE_FAULT_EXIT_BEFORE_EXEC=1` exits after MULTI/XADD/XACK
    /// but before EXEC; `PANE_FAULT_EXIT_AFTER_EXEC=1` exits right after EXEC.
    let exitBeforeExec = ProcessInfo.processInfo.environment["PANE_FAULT_EXIT_BEFORE_EXEC"] == "1"
    let exitAfterExec = ProcessInfo.processInfo.environment["PANE_FAULT_EXIT_AFTER_EXEC"] == "1"

    /// The dead-letter fields for `entry`.
    func fields(for entry: StreamEntry, failure: DeliveryPolicy.Failure, reason: String, deliveries: Int) -> [(String, [UInt8])] {
        var fields = entry.fields ?? []
        fields.append(("dlq-reason", Array(reason.utf8)))
        fields.append(("dlq-kind", Array(failure.kind.utf8)))
        fields.append(("dlq-replica", Array(replica.name.utf8)))
        fields.append(("dlq-consumer", Array(consumer.utf8)))
        fields.append(("dlq-deliveries", Array(String(deliveries).utf8)))
        fields.append(("dlq-time", Array(String(WallClock.nowMs()).utf8)))
        fields.append(("dlq-entry-id", Array(entry.id.utf8)))
        return fields
    }

    /// Adds the dead letter and acks the original atomically.
    func move(_ entry: StreamEntry, failure: DeliveryPolicy.Failure, reason: String, deliveries: Int, connection: RedisConnection) throws(RedisError) {
        var transaction = RedisTransaction()
        transaction.commands.xadd(key: region.keys.deadLetters, fields: fields(for: entry, failure: failure, reason: reason, deliveries: deliveries))
        transaction.commands.xack(key: region.keys.updates, group: replica.consumerGroup, ids: [entry.id])
        if exitBeforeExec {
            try connection.send(transaction.commands)
            logger.critical("test hook: exiting between MULTI and EXEC")
            exit(87)
        }
        try connection.exec(transaction)
        if exitAfterExec {
            logger.critical("test hook: exiting right after EXEC")
            exit(88)
        }
        Counter(label: "pane_spoke_dead_letters_total", dimensions: [("region", region.name), ("replica", replica.name), ("kind", failure.kind)]).increment()
        logger.error(
            "entry moved to the dead-letter stream",
            metadata: ["entry": "\(entry.id)", "kind": "\(failure.kind)", "reason": "\(reason)", "deliveries": "\(deliveries)"])
    }

    /// Trims the dead-letter stream by length and age; never silently.
    func trim(maxLength: Int, maxAgeMs: Int64, connection: RedisConnection) throws(RedisError) {
        let key = region.keys.deadLetters
        var removed = try connection.xtrim(key: key, to: .maxLength(maxLength))
        removed += try connection.xtrim(key: key, to: .minID("\(max(0, WallClock.nowMs() - maxAgeMs))-0"))
        if removed > 0 {
            Counter(label: "pane_spoke_dead_letters_trimmed_total", dimensions: [("region", region.name)]).increment(by: removed)
            logger.warning(
                "trimmed the dead-letter stream", metadata: ["stream": "\(key)", "removed": "\(removed)", "maxLength": "\(maxLength)", "maxAgeMs": "\(maxAgeMs)"])
        }
    }
}
