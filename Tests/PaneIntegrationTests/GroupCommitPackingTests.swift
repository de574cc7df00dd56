import Dispatch
import Foundation
import PaneCore
@testable import PaneStore
import PaneTestKit
import Synchronization
import Testing

/// A group commit of writes to distinct contexts is published as ONE `batch` entry per region
/// (its share of the group), so Redis, the publisher and every replica handle one entry per
/// region per group; a group that names a context twice is written one write at a time.
@Suite struct GroupCommitPackingTests {
    /// Holds the hub's writer queue while `writes` are queued, so they all land in one group
    /// commit, then lets it go and waits for every answer. The writes are queued right here, one
    /// after another, before the gate opens: no task has to be scheduled first, so a busy
    /// machine cannot split the group.
    static func oneGroup(
        _ store: HubStore, _ writes: [(id: String, op: ContextOp, body: String, regions: [Region]?, condition: WriteCondition?)]
    ) async throws -> [Result<HubWrite?, any Error>] {
        let ids = try writes.map { try ContextID($0.id) }
        let gate = DispatchSemaphore(value: 0)
        store.pool.asyncWriteWithoutTransaction { _ in gate.wait() }
        let answers = Mutex<[Result<HubWrite?, any Error>?]>(Array(repeating: nil, count: writes.count))
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let left = Atomic<Int>(writes.count)
            for (index, write) in writes.enumerated() {
                let done: @Sendable (Result<HubWrite?, any Error>) -> Void = { result in
                    answers.withLock { $0[index] = result }
                    if left.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { continuation.resume() }
                }
                if write.op == .put {
                    store.put(id: ids[index], body: Array(write.body.utf8), regions: write.regions, condition: write.condition) {
                        done($0.map { Optional($0) })
                    }
                } else {
                    store.delete(id: ids[index], regions: write.regions, condition: write.condition, done: done)
                }
            }
            #expect(store.pending.count == writes.count, "every write waits behind the gate")
            gate.signal()
        }
        return answers.withLock { $0.map { $0! } }
    }

    static func store(_ name: String, _ regions: [Region]) throws -> (HubStore, String) {
        let dir = try TestEnv.directory(name)
        return (try HubStore(path: "\(dir)/hub.sqlite", regions: regions), dir)
    }

    /// Two new contexts (one for one region only), a delete, a refused conditional write and a
    /// delete of nothing: the three that write are one entry per region, each region's share.
    @Test func distinctContextsAreOneBatchEntryPerRegion() async throws {
        let (r1, r2) = (try Region("pack-a"), try Region("pack-b"))
        let (store, dir) = try Self.store("pack-distinct", [r1, r2])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try await store.put(id: try ContextID("old"), body: Array("0".utf8))
        _ = try await store.put(id: try ContextID("kept"), body: Array("0".utf8))
        let answers = try await Self.oneGroup(store, [
            ("p1", .put, "{\"n\":1}", nil, nil),
            ("p2", .put, "{\"n\":2}", [r2], nil),
            ("old", .del, "", nil, nil),
            ("kept", .put, "{\"n\":3}", nil, .absent),
            ("gone", .del, "", nil, nil),
        ])
        #expect(throws: WritePreconditionFailed.self) { try answers[3].get() }
        #expect(try answers[4].get() == nil, "a delete of nothing writes nothing")
        let p1 = try #require(try answers[0].get()), p2 = try #require(try answers[1].get()), old = try #require(try answers[2].get())
        #expect(p1.version == 1 && p2.version == 1 && old.version == 2)
        for region in [r1, r2] {
            let entries = try store.outbox(region: region, limit: 100).updates
            #expect(entries.count == 3, "two single puts, then one entry for the group, in \(region)")
            let last = try #require(entries.last)
            #expect(last.op == .batch && last.seq == 3)
            #expect(p1.seqs[region] == 3 && old.seqs[region] == 3, "every write of the group shares the region's seq")
            let ops = try BatchEntryCodec.decode(
                last.body, entryID: last.id, entryVersion: last.version, seq: last.seq, hubTimeUs: last.hubTimeUs, replay: false,
                rules: BodyRules())
            let expected = region == r1 ? ["p1", "old"] : ["p1", "p2", "old"]
            #expect(ops.map(\.id.value) == expected, "the region's share, in the group's order")
            #expect(ops.map(\.op) == (region == r1 ? [.put, .del] : [.put, .put, .del]))
        }
        #expect(p2.seqs[r1] == nil, "p2 was for \(r2) only")
        #expect(try store.lastSeq(region: r1) == 3 && store.lastSeq(region: r2) == 3)
    }

    /// A group that names a context twice is written one write at a time: the second write's
    /// condition sees the first, and each write is an entry of its own.
    @Test func aContextNamedTwiceIsWrittenOneWriteAtATime() async throws {
        let region = try Region("pack-twice")
        let (store, dir) = try Self.store("pack-twice", [region])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let answers = try await Self.oneGroup(store, [
            ("x", .put, "1", nil, nil),
            ("x", .put, "2", nil, .version(1)),
            ("y", .put, "3", nil, nil),
        ])
        let versions = try answers.map { try #require(try $0.get()).version }
        #expect(versions == [1, 2, 1])
        let entries = try store.outbox(region: region, limit: 100).updates
        #expect(entries.map(\.op) == [.put, .put, .put])
        #expect(entries.map(\.seq) == [1, 2, 3])
    }

    /// A group left with one write after its refusals is that write's own entry, not a batch.
    @Test func aGroupLeftWithOneWriteIsAPlainEntry() async throws {
        let region = try Region("pack-one")
        let (store, dir) = try Self.store("pack-one", [region])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let answers = try await Self.oneGroup(store, [
            ("a", .put, "1", nil, nil),
            ("b", .put, "2", nil, .exists),
        ])
        #expect(throws: WritePreconditionFailed.self) { try answers[1].get() }
        let entries = try store.outbox(region: region, limit: 100).updates
        #expect(entries.map(\.op) == [.put] && entries.first?.id.value == "a")
    }
}
