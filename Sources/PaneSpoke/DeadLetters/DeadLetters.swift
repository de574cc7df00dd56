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
        var buffer = RedisCommandBuffer()
        buffer.append(["MULTI"])
        buffer.append(RedisConnection.xaddArguments(key: Keys.deadLetters(region), id: "*", fields: fields(for: entry, failure: failure, reason: reason, deliveries: deliveries)))
        buffer.append(["XACK", RedisArgument(Keys.updates(region)), RedisArgument(replica.group), RedisArgument(entry.id)])
        if faults.exitBeforeExec {
            try connection.send(buffer)
            FaultPoints.exit(.beforeExec, logger: logger, "exiting between MULTI and EXEC")
        }
        buffer.append(["EXEC"])
        let replies = try connection.pipeline(buffer)
        guard let exec = replies.last, let results = exec.array, results.count == 2 else {
            throw RedisError(.server, "dead-letter transaction failed: \(replies.last.map { "\($0)" } ?? "no reply")", command: "EXEC")
        }
        if let failed = results.first(where: \.isError) {
            throw RedisError(.server, "dead-letter transaction failed: \(failed)", command: "EXEC")
        }
        if faults.exitAfterExec {
            FaultPoints.exit(.afterExec, logger: logger, "exiting right after EXEC")
        }
        Counter(label: "pane_spoke_dead_letters_total", dimensions: [("region", region.name), ("replica", replica.name), ("kind", failure.kind)]).increment()
        logger.error(
            "entry moved to the dead-letter stream",
            metadata: ["entry": "\(entry.id)", "kind": "\(failure.kind)", "reason": "\(reason)", "deliveries": "\(deliveries)"])
    }

    /// Trims the dead-letter stream by length and age; never silently.
    func trim(maxLength: Int, maxAgeMs: Int64, connection: RedisConnection) throws(RedisError) {
        let key = Keys.deadLetters(region)
        var removed = try connection.xtrim(key: key, strategy: "MAXLEN", threshold: String(maxLength))
        removed += try connection.xtrim(key: key, strategy: "MINID", threshold: "\(max(0, WallClock.nowMs() - maxAgeMs))-0")
        if removed > 0 {
            Counter(label: "pane_spoke_dead_letters_trimmed_total", dimensions: [("region", region.name)]).increment(by: removed)
            logger.warning(
                "trimmed the dead-letter stream", metadata: ["stream": "\(key)", "removed": "\(removed)", "maxLength": "\(maxLength)", "maxAgeMs": "\(maxAgeMs)"])
        }
    }
}
