import Dispatch
import Foundation
import GRDB
import PaneCore
@testable import PaneStore
import PaneTestKit
import Synchronization
import Testing

/// Batches that arrive while the hub's writer is busy are committed together, in one
/// transaction and one sync (``HubStore/drainBatches(_:)``), each still all or nothing with its
/// own seq and stream entry per region.
@Suite struct BatchGroupCommitTests {
    /// Counts the writer connection's commits.
    final class CommitCounter: TransactionObserver, @unchecked Sendable {
        let commits = Atomic<Int>(0)
        func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { true }
        func databaseDidChange(with event: DatabaseEvent) {}
        func databaseDidCommit(_ db: Database) { commits.add(1, ordering: .relaxed) }
        func databaseDidRollback(_ db: Database) {}
    }

    static func put(_ id: String, _ body: String) throws -> BatchOperation {
        BatchOperation(op: .put, id: try ContextID(id), body: Array(body.utf8))
    }

    /// Five batches queue behind a busy writer: the four good ones commit in ONE transaction, in
    /// order (a later batch deletes what an earlier one created), each with one seq per region;
    /// the one that deletes an unknown context is refused alone, naming its index, and nothing
    /// of it is written.
    @Test func queuedBatchesCommitTogetherAndABadOneFailsAlone() async throws {
        let dir = try TestEnv.directory("batch-group")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let regions = [try Region("bg-a"), try Region("bg-b")]
        let store = try HubStore(path: "\(dir)/hub.sqlite", regions: regions, durability: .full)
        let counter = CommitCounter()
        try await store.pool.write { db in db.add(transactionObserver: counter, extent: .observerLifetime) }

        // Hold the writer queue until every batch is queued behind it.
        let gate = DispatchSemaphore(value: 0)
        store.pool.asyncWriteWithoutTransaction { _ in gate.wait() }
        var batches: [[BatchOperation]] = []
        for k in 0..<5 {
            var operations = try (0..<10).map { try Self.put("g\(k)-\($0)", "{\"k\":\(k)}") }
            if k == 2 { operations.append(BatchOperation(op: .del, id: try ContextID("never"), body: [])) }
            if k == 4 { operations.append(BatchOperation(op: .del, id: try ContextID("g1-0"), body: [])) }
            batches.append(operations)
        }
        let results = Mutex<[Int: Result<[HubWrite], any Error>]>([:])
        for (k, operations) in batches.enumerated() {
            store.batch(operations) { result in results.withLock { $0[k] = result } }
        }
        let commitsBefore = counter.commits.load(ordering: .relaxed)
        gate.signal()
        #expect(await eventually(60, poll: 0.01) { results.withLock { $0.count } == 5 })

        #expect(counter.commits.load(ordering: .relaxed) - commitsBefore == 1, "the queued batches did not commit together")
        let answers = results.withLock { $0 }
        for k in [0, 1, 3, 4] {
            let writes = try #require(try? answers[k]?.get(), "batch \(k): \(String(describing: answers[k]))")
            #expect(writes.count == batches[k].count)
            #expect(writes.allSatisfy { $0.seqs.count == 2 })
        }
        switch answers[2] {
        case .failure(let error as BatchMissingContext): #expect(error.index == 10 && error.id.value == "never")
        default: Issue.record("batch 2: \(String(describing: answers[2]))")
        }
        // Each committed batch took one seq per region, in the order the batches were queued.
        for region in regions {
            #expect(try store.lastSeq(region: region) == 4, "\(region)")
            let seqs = try [0, 1, 3, 4].map { k in try #require(try answers[k]?.get().first?.seqs[region]) }
            #expect(seqs == [1, 2, 3, 4], "\(region): \(seqs)")
        }
        #expect(try await store.get(id: try ContextID("g2-0")) == nil, "the refused batch wrote a row")
        let deleted = try #require(try await store.get(id: try ContextID("g1-0")))
        #expect(deleted.version == 2 && deleted.deleted, "batch 4's delete of batch 1's context")
        let outbox = try store.outbox(region: regions[0], limit: 100)
        #expect(outbox.updates.map(\.seq) == [1, 2, 3, 4])
        #expect(outbox.updates.map(\.op) == [.batch, .batch, .batch, .batch])
        #expect(outbox.updates.map { BatchEntryCodec.contextIDs(in: $0.body)?.count } == [10, 10, 10, 11])
    }

    /// A batch alone in the queue commits as before, in a transaction of its own.
    @Test func aLoneBatchCommitsAlone() async throws {
        let dir = try TestEnv.directory("batch-alone")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try HubStore(path: "\(dir)/hub.sqlite", regions: [try Region("ba-a")], durability: .full)
        let counter = CommitCounter()
        try await store.pool.write { db in db.add(transactionObserver: counter, extent: .observerLifetime) }
        for k in 0..<3 {
            let before = counter.commits.load(ordering: .relaxed)
            let writes = try await store.batch(try (0..<5).map { try Self.put("a\(k)-\($0)", "1") })
            #expect(writes.map(\.version) == [1, 1, 1, 1, 1])
            #expect(counter.commits.load(ordering: .relaxed) - before == 1)
        }
        await #expect(throws: BatchMissingContext.self) {
            try await store.batch([try Self.put("a9", "1"), BatchOperation(op: .del, id: try ContextID("nope"), body: [])])
        }
        #expect(try await store.get(id: try ContextID("a9")) == nil)
    }
}
