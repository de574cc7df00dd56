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
        if pendingBatches.append(PendingBatch(items: items, done: done)) { pool.asyncWriteWithoutTransaction { db in self.drainBatches(db) } }
    }

    /// Commits every queued batch in one transaction (one sync for all of them): each batch
    /// still gets its own seq and stream entry per region, all or nothing. A batch refused for
    /// a missing context (checked before any of its rows is written) fails alone and the others
    /// commit; if the transaction fails otherwise, each batch is committed alone, so a bad
    /// batch fails alone.
    func drainBatches(_ db: Database) {
        let batches = pendingBatches.take()
        guard !batches.isEmpty else { return }
        if batches.count == 1 { return commitAlone(db, batches[0]) }
        let start = CommitMetrics.start()
        var results: [Result<[HubWrite], any Error>] = []
        do {
            var written: [PlacedUpdate] = []
            try db.immediateTransaction {
                results.removeAll(keepingCapacity: true)
                var writer = try GroupWriter(db)
                for batch in batches {
                    do {
                        results.append(.success(try writer.writeBatch(batch.items)))
                    } catch let refused as BatchMissingContext {
                        results.append(.failure(refused))
                    }
                }
                try writer.finish()
                written = writer.written
            }
            commitMetrics.record(writes: results.reduce(0) { $0 + ((try? $1.get())?.count ?? 0) }, since: start)
            committed(written)
            doorbell.ring()
        } catch {
            for batch in batches { commitAlone(db, batch) }
            return
        }
        for (batch, result) in zip(batches, results) { batch.done(result) }
    }

    /// One batch in a transaction of its own; its callback runs after the commit.
    func commitAlone(_ db: Database, _ batch: PendingBatch) {
        let result = Result { () throws -> [HubWrite] in
            var results: [HubWrite] = []
            var written: [PlacedUpdate] = []
            let start = CommitMetrics.start()
            try db.immediateTransaction {
                var writer = try GroupWriter(db)
                results = try writer.writeBatch(batch.items)
                try writer.finish()
                written = writer.written
            }
            self.commitMetrics.record(writes: batch.items.count, since: start)
            // On the writer queue, right after the commit: the tail stays in seq order, and
            // the publisher wakes now.
            self.committed(written)
            self.doorbell.ring()
            return results
        }
        batch.done(result)
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

/// A batch waiting for its commit: its operations with their regions, and who waits.
struct PendingBatch: Sendable {
    let items: [(operation: BatchOperation, targets: [Region])]
    let done: @Sendable (Result<[HubWrite], any Error>) -> Void
}
