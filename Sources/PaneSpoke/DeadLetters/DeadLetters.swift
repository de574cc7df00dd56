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
    /// The fault points of the move: ``FaultPoints/exitBeforeExec`` and ``FaultPoints/exitAfterExec``.
    var faults: FaultPoints = .active

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
        if faults.exitBeforeExec {
            try connection.send(transaction.commands)
            FaultPoints.exit(.beforeExec, logger: logger, "exiting between MULTI and EXEC")
        }
        try connection.exec(transaction)
        if faults.exitAfterExec {
            FaultPoints.exit(.afterExec, logger: logger, "exiting right after EXEC")
        }
        Counter(label: "pane_spoke_dead_letters_total", dimensions: [("region", region.name), ("replica", replica.name), ("kind", failure.kind)]).increment()
        logger.error(
            "entry moved to the dead-letter stream",
            metadata: ["entry": "\(entry.id)", "kind": "\(failure.kind)", "reason": "\(reason)", "deliveries": "\(deliveries)"])
    }

    /// Trims the dead-letter stream by length, bytes (Redis's estimate, as for region streams:
    /// ``PaneCore/Retention/entryCap(maxEntries:maxBytes:streamBytes:streamLength:)``) and age;
    /// never silently.
    func trim(maxLength: Int, maxBytes: Int = 0, maxAgeMs: Int64, connection: RedisConnection) throws(RedisError) {
        let key = region.keys.deadLetters
        var maxLength = maxLength
        if maxBytes > 0, let length = try connection.xinfoStream(key: key)?["length"]?.int, length > 0 {
            maxLength = Retention.entryCap(
                maxEntries: maxLength, maxBytes: maxBytes, streamBytes: try connection.memoryUsage(key: key), streamLength: Int(length)
            ).entries
        }
        var removed = try connection.xtrim(key: key, to: .maxLength(maxLength))
        removed += try connection.xtrim(key: key, to: .minID("\(max(0, WallClock.nowMs() - maxAgeMs))-0"))
        if removed > 0 {
            Counter(label: "pane_spoke_dead_letters_trimmed_total", dimensions: [("region", region.name)]).increment(by: removed)
            logger.warning(
                "trimmed the dead-letter stream",
                metadata: [
                    "stream": "\(key)", "removed": "\(removed)", "maxLength": "\(maxLength)", "maxBytes": "\(maxBytes)", "maxAgeMs": "\(maxAgeMs)",
                ])
        }
    }
}
