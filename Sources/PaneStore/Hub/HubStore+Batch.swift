import Foundation
import GRDB
import PaneCore

extension HubStore {
    /// Commits `operations` in one transaction, all or nothing: each gets the next version of
    /// its context, and each region the batch touches gets ONE new seq and one outbox row with
    /// its share of the batch (a `batch` stream entry, ``BatchEntryCodec``), so every replica
    /// applies its share atomically. Returns each operation's write, in order.
    ///
    /// - Throws: ``BatchError`` for an operation naming a region this hub does not publish to,
    ///   ``BatchMissingContext`` for a delete of an unknown or deleted context; nothing is written.
    public func batch(_ operations: [BatchOperation]) async throws -> [HubWrite] {
        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<[HubWrite], any Error>) in
            batch(operations) { continuation.resume(with: $0) }
        }
    }

    /// The callback form of ``batch(_:)``: `done` runs once, on the writer's queue after the
    /// commit (or at once, for an operation naming a region this hub does not publish to).
    public func batch(_ operations: [BatchOperation], done: @escaping @Sendable (Result<[HubWrite], any Error>) -> Void) {
        var items: [(operation: BatchOperation, targets: [Region])] = []
        items.reserveCapacity(operations.count)
        for (index, operation) in operations.enumerated() {
            do { items.append((operation, try targets(operation.regions))) } catch {
                return done(.failure(BatchError(index: index, reason: error.description)))
            }
        }
        let pending = items
        pool.asyncWriteWithoutTransaction { db in
            let result = Result { () throws -> [HubWrite] in
                var results: [HubWrite] = []
                var written: [PlacedUpdate] = []
                let start = CommitMetrics.start()
                try db.inTransaction {
                    var writer = try GroupWriter(db)
                    results = try writer.writeBatch(pending)
                    try writer.finish()
                    written = writer.written
                    return .commit
                }
                self.commitMetrics.record(writes: pending.count, since: start)
                // On the writer queue, right after the commit: the tail stays in seq order, and
                // the publisher wakes now.
                self.committed(written)
                self.doorbell.ring()
                return results
            }
            done(result)
        }
    }

    /// The position token of a batch: the seq it got in each region (one per region).
    public func position(of writes: [HubWrite]) -> PositionToken {
        var seqs: [Region: UInt64] = [:]
        for write in writes {
            for (region, seq) in write.seqs { seqs[region] = max(seqs[region] ?? 0, seq) }
        }
        return PositionToken(hub: hubID, positions: seqs)
    }
}
