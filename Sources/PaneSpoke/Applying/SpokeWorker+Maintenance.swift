import Foundation
import Logging
import Metrics
import PaneCore
import PaneRedis
import PaneRuntime
import PaneStore

extension SpokeWorker {
    /// Takes over idle pending entries of other consumers, removes long-idle empty consumers,
    /// trims the dead-letter stream.
    func maintain(loop: Loop, client: RedisClient, deadLetters: DeadLetters, latencyLog: LatencyLog?) throws {
        let claim = try client.run { conn throws(RedisError) in
            try conn.xautoclaim(
                key: key, group: group, consumer: consumer, minIdleMs: config.claimIdleMs, start: loop.claimCursor,
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
        loop.durability.checkIfDue(client, nowMs: WallClock.nowMs(), logger: logger)
        try publishDigestIfDue(client: client)
        // Clean-up runs every minute, or sooner when the idle threshold is shorter.
        if Date().timeIntervalSince(loop.lastJanitor) * 1000 >= Double(min(60_000, config.consumerIdleMs / 2)) {
            loop.lastJanitor = Date()
            try cleanUpConsumers(client: client)
            try client.run { conn throws(RedisError) in
                try deadLetters.trim(
                    maxLength: config.deadLetterMaxLength, maxBytes: config.deadLetterMaxBytes, maxAgeMs: config.deadLetterMaxAgeMs, connection: conn)
            }
        }
    }

    func cleanUpConsumers(client: RedisClient) throws {
        let rows = try client.run { conn throws(RedisError) in try conn.xinfoConsumers(key: key, group: group) }
        let consumers = rows.compactMap { row -> ConsumerJanitor.Consumer? in
            guard let name = row["name"]?.string, let pending = row["pending"]?.int, let idle = row["idle"]?.int else { return nil }
            return ConsumerJanitor.Consumer(name: name, pending: Int(pending), idleMs: idle)
        }
        for name in ConsumerJanitor.removable(consumers, me: config.consumer, idleThresholdMs: Int64(config.consumerIdleMs)) {
            try client.run { conn throws(RedisError) in _ = try conn.xgroupDelConsumer(key: key, group: group, consumer: ConsumerName(name)) }
            logger.notice("removed an idle consumer with nothing pending", metadata: ["consumer": "\(name)"])
        }
    }
}
