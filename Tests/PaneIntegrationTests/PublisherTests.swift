import Foundation
import PaneCore
import PaneHub
import PaneRedis
@testable import PaneStore
import PaneTestKit
import Testing

/// The publisher's two sources, the outbox table and the in-memory tail of just-committed rows,
/// against a real Redis: every seq reaches its stream once, in order, whichever source served it.
@Suite struct PublisherTests {
    /// A backlog larger than the tail (so the table is read, batch after batch) while writes keep
    /// coming through both write paths and a dead-letter replay writes around the tail.
    @Test func backlogLiveWritesAndReplaysArePublishedOnceInOrder() async throws {
        try await TestScene.run("publisher-sources", regions: ["pub-a", "pub-b"]) { scene in
            let (r1, r2) = (scene.regions[0], scene.regions[1])
            var config = PublisherConfiguration()
            config.batchSize = 700
            let hub = try scene.hub(publisher: config)
            let store = hub.store
            let body = Array("{\"pad\":\"\(String(repeating: "x", count: 40))\"}".utf8)
            // The backlog: written before the publisher starts, more than the tail holds.
            let backlog = OutboxTail.capacity + 2_500
            for i in 0..<backlog { try Self.putBlocking(store, "ctx-\(i % 3_000)", body) }

            try await hub.run { hub in
                // Live writes while the backlog drains: group-committed, one by one, and replays.
                async let grouped: Void = {
                    for i in 0..<2_000 { _ = try await store.put(id: try ContextID("live-\(i % 500)"), body: body) }
                }()
                for i in 0..<1_000 {
                    try Self.putBlocking(store, "sync-\(i % 200)", body, regions: [r2])
                    if i % 250 == 0 { _ = try await store.republish(ids: [try ContextID("ctx-\(i)")], region: r1) }
                }
                try await grouped
                #expect(try await eventually(60) { try hub.drained() })

                let conn = try scene.connection()
                for region in [r1, r2] {
                    let last = try store.lastSeq(region: region)
                    let ids = try conn.xrange(key: region.keys.updates).map(\.id)
                    #expect(ids.count == Int(last), "\(region)")
                    #expect(ids == (1...last).map { "\($0)-0" }, "\(region): every seq once, in order")
                }
                #expect(try store.lastSeq(region: r1) == UInt64(backlog + 2_000 + 4))
                #expect(try store.lastSeq(region: r2) == UInt64(backlog + 2_000 + 1_000))
            }
        }
    }

    /// A catch-up round reads the outbox table once for all its regions, however their writes
    /// interleave: with 5 rows per region per round, region a (every write) needs 4 rounds, b
    /// (every other write) is read along in the same passes, and c (the first 5 writes) is done
    /// after the first: 4 passes, where one read per region and round made 7. Every region's
    /// stream holds its writes once, in order, each with its own body.
    @Test func catchUpRoundsReadTheOutboxOnceForEveryRegion() async throws {
        try await TestScene.run("publisher-one-read", regions: ["one-a", "one-b", "one-c"]) { scene in
            let (a, b, c) = (scene.regions[0], scene.regions[1], scene.regions[2])
            var config = PublisherConfiguration()
            config.batchSize = 5
            let hub = try scene.hub(publisher: config)
            let store = hub.store
            var expected: [Region: [String]] = [a: [], b: [], c: []]
            for i in 1...20 {
                let targets = [a] + (i % 2 == 1 ? [b] : []) + (i <= 5 ? [c] : [])
                try Self.putBlocking(store, "w-\(i)", Array("{\"i\":\(i)}".utf8), regions: targets)
                for region in targets { expected[region]?.append("w-\(i)") }
            }
            #expect(store.outboxTableReads.load(ordering: .relaxed) == 0)

            try await hub.run { hub in
                #expect(try await eventually(60) { try hub.drained() })
                let conn = try scene.connection()
                for region in [a, b, c] {
                    let entries = try conn.xrange(key: region.keys.updates)
                    let ids = try #require(expected[region])
                    #expect(entries.map(\.id) == (1...ids.count).map { "\($0)-0" }, "\(region): every seq once, in order")
                    let fields = entries.map { Dictionary(($0.fields ?? []).map { ($0.0, $0.1) }, uniquingKeysWith: { first, _ in first }) }
                    #expect(fields.map { String(decoding: $0["ctx"] ?? [], as: UTF8.self) } == ids, "\(region): the writes in commit order")
                    #expect(
                        fields.map { String(decoding: $0["body"] ?? [], as: UTF8.self) }
                            == ids.map { "{\"i\":\($0.dropFirst(2))}" }, "\(region): each write its own body")
                }
            }
            #expect(store.outboxTableReads.load(ordering: .relaxed) == 4, "one pass over the table per round, for all three regions")
        }
    }

    /// The blocking write path (one transaction per write), which async code would not pick.
    static func putBlocking(_ store: HubStore, _ id: String, _ body: [UInt8], regions: [Region]? = nil) throws {
        _ = try store.put(id: try ContextID(id), body: body, regions: regions)
    }
}
