import Foundation
import Logging
import Metrics
import PaneCore
import PaneRedis
import PaneRuntime
import PaneStore

extension SpokeWorker {
    /// Follows the delivery policy for one failed entry.
    func fail(
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
            // marked again) on redelivery; a mark is never missing for a dead letter. An entry
            // that is not the hub's says nothing about the hub's contexts: no mark.
            if !failure.isNotTheHubs { markStale(entry, reason: reason) }
            try client.run { conn throws(RedisError) in
                try deadLetters.move(entry, failure: failure, reason: reason, deliveries: deliveries, connection: conn)
            }
        }
    }

    /// Marks the context a dead letter names as stale, when its id can be read.
    func markStale(_ entry: StreamEntry, reason: String) {
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
    func deliveryCounts(_ entries: [StreamEntry], client: RedisClient) throws -> [String: Int] {
        guard let first = entries.first?.id, let last = entries.last?.id else { return [:] }
        let rows = try client.run { conn throws(RedisError) in
            try conn.xpending(key: key, group: group, start: first, end: last, count: entries.count + 10, consumer: consumer)
        }
        return Dictionary(rows.map { ($0.id, $0.deliveries) }, uniquingKeysWith: max)
    }
}

extension DeliveryPolicy.Failure {
    /// Whether the entry cannot be the hub's: its seq is too large for the store or beyond the
    /// hub's highest seq (``EntryIDRule``), or it is a refused `snap` announcement
    /// (``SnapshotGuard``), whose `ctx` is a snapshot key, not a context.
    var isNotTheHubs: Bool {
        guard case .permanent(let error) = self else { return false }
        return error.kind == .seqOutOfRange || error.kind == .seqBeyondHub || error.kind == .refusedSnapshot
    }
}
