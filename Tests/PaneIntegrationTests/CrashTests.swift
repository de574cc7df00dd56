import Foundation
import PaneApp
import PaneCore
import PaneHub
import PaneRedis
import PaneSpoke
import PaneStore
import PaneTestKit
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct CrashTests {
    /// `kill -9` a worker in the middle of the stream, restart it: the replica converges, nothing lost.
    @Test func workerKilledMidStreamConverges() async throws {
        try await TestScene.withHub("workercrash", regions: ["wcrash"]) { scene, hub in
            let first = try scene.spoke("a", consumer: "worker-1")

            // Ten writers at once: the hub commits durably (hub.durability full), so one writer
            // alone waits for an fsync per write, slow on a disk the whole suite shares.
            let writer = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for w in 0..<10 {
                        group.addTask {
                            for i in stride(from: w, to: 10_000, by: 10) {
                                _ = try await hub.store.put(id: try ContextID("c\(i % 3_000)"), body: Array(#"{"i":\#(i)}"#.utf8))
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            let replica = try ReplicaStore(path: first.db)
            #expect(
                try await eventually(60, poll: 0.01) { try replica.maxSeq() > 100 },
                "replica at \((try? replica.maxSeq()) ?? 0), hub at \((try? hub.store.lastSeq(region: scene.region)) ?? 0): \(first.log().suffix(1_500))")
            first.child.crash()
            let seqAtCrash = try replica.maxSeq()
            try await writer.value

            // The same consumer name comes back, so it drains its own pending list first.
            let second = try scene.spoke("a", consumer: "worker-1")
            #expect(try await eventually(60) { try hub.drained() })
            try await scene.expectConverges(hub, second)
            // A group commit of several writes is one seq (one batch entry), so the hub's last seq,
            // not the number of writes, is where the replica must end.
            let lastSeq = try hub.store.lastSeq(region: scene.region)
            #expect(seqAtCrash < lastSeq, "the crash came too late to prove anything")
            #expect(try replica.maxSeq() == lastSeq)
            let groups = try scene.connection().xinfoGroups(key: scene.region.keys.updates)
            #expect(groups.first?["pending"]?.int == 0)
        }
    }

    /// The hub dies after XADD and before marking its outbox rows. After a restart the streams
    /// hold every seq exactly once: no duplicates, nothing missing.
    @Test func hubKilledBetweenXaddAndMarkRepublishesNothingTwice() async throws {
        try await TestScene.run("hubcrash", regions: ["hcrash1", "hcrash2"]) { scene in
            let regions = scene.regions
            let db = scene.path("hub.sqlite")
            var expected: [Region: [UInt64: (ContextID, Int64)]] = [:]
            do {
                let store = try HubStore(path: db, regions: regions)
                for i in 0..<3_000 {
                    let write = try await store.put(id: try ContextID("k\(i % 700)"), body: Array("[\(i)]".utf8))
                    for (region, seq) in write.seqs { expected[region, default: [:]][seq] = (write.id, write.version) }
                }
            }
            var environment = ProcessInfo.processInfo.environment
            environment["PANE_FAULT_EXIT_AFTER_XADDS"] = "700"
            let crashing = try HubProcess.start(
                regions: regions, dir: scene.directory, extra: ["--batch-size", "500"], environment: environment, logName: "hub-1.log")
            defer { crashing.child.stop() }
            crashing.child.process.waitUntilExit()
            #expect(crashing.child.process.terminationStatus == 86, "the hub did not take the crash hook: \(crashing.log().suffix(500))")
            let conn = try scene.connection()
            for region in regions {
                #expect(try conn.xlen(key: region.keys.updates) == 500)
            }
            let store = try HubStore(path: db, regions: regions)
            #expect(try store.outboxDepth()[regions[0]] == 3_000, "the crash must leave the outbox unmarked")

            let restarted = try HubProcess.start(regions: regions, dir: scene.directory, extra: ["--batch-size", "500"], logName: "hub-2.log")
            defer { restarted.child.stop() }
            #expect(try await eventually(60) { try store.outboxDepth().values.allSatisfy { $0 == 0 } })
            for region in regions {
                let entries = try conn.xrange(key: region.keys.updates)
                #expect(entries.count == 3_000)
                #expect(entries.map(\.id) == (1...3_000).map { "\($0)-0" })
                let rules = BodyRules()
                for entry in entries {
                    let update = try StreamEntryCodec.decode(entryID: entry.id, fields: entry.fields ?? [], rules: rules)
                    let want = expected[region]?[update.seq]
                    #expect(want?.0 == update.id && want?.1 == update.version)
                }
            }
            #expect(!restarted.log().contains("CONFLICT"))
            #expect(restarted.child.stop() == 0)
        }
    }

    /// Someone XADDs with `*` and lifts the stream's top past every seq: the hub logs a conflict,
    /// moves the foreign entry to the dead-letter stream and carries on publishing.
    @Test func foreignEntryIsMovedAsideAndPublishingGoesOn() async throws {
        try await Self.withPublishedHub("conflict") { scene, hub, conn in
            let region = scene.region
            let foreignID = try conn.xadd(key: region.keys.updates, id: "*", fields: [("ctx", Array("intruder".utf8))])
            _ = try await hub.store.put(id: try ContextID("after"), body: Array("2".utf8))
            #expect(try await eventually(10) { try hub.drained() })
            let ids = try conn.xrange(key: region.keys.updates).map(\.id)
            #expect(ids == ["1-0", "2-0"])
            let dead = try conn.xrange(key: region.keys.deadLetters)
            #expect(dead.count == 1)
            let original = dead.first?.fields?.first { $0.0 == "original-id" }.map { String(decoding: $0.1, as: UTF8.self) }
            #expect(original == foreignID)
        }
    }

    /// Someone XADDs at exactly the hub's next id: the hub moves it aside, publishes its own entry
    /// there, and publishing to the region goes on.
    @Test func foreignEntryAtTheNextSeqIsMovedAsideAndPublishingGoesOn() async throws {
        try await Self.withPublishedHub("conflict-seq") { scene, hub, conn in
            let region = scene.region
            _ = try conn.xadd(key: region.keys.updates, id: "2-0", fields: [("ctx", Array("intruder".utf8))])
            // One write first: alone in its round, its seq 2 is refused, the intruder moved, and 2-0 placed.
            _ = try await hub.store.put(id: try ContextID("after0"), body: Array("0".utf8))
            #expect(try await eventually(10) { try hub.drained() })
            for i in 1..<5 { _ = try await hub.store.put(id: try ContextID("after\(i)"), body: Array("\(i)".utf8)) }
            #expect(try await eventually(10) { try hub.drained() })
            let entries = try conn.xrange(key: region.keys.updates)
            #expect(entries.map(\.id) == (1...6).map { "\($0)-0" })
            let second = try #require(entries.dropFirst().first?.fields)
            #expect(second.contains { $0.0 == "ctx" && $0.1 == Array("after0".utf8) })
            let dead = try conn.xrange(key: region.keys.deadLetters)
            #expect(dead.count == 1)
        }
    }

    /// A hub over one region that has published one context (`before`, seq 1).
    static func withPublishedHub(
        _ name: String, _ body: (TestScene, InProcessHub, RedisConnection) async throws -> Void
    ) async throws {
        try await TestScene.withHub(name) { scene, hub in
            _ = try await hub.store.put(id: try ContextID("before"), body: Array("1".utf8))
            #expect(try await eventually(10) { try hub.drained() })
            try await body(scene, hub, try scene.connection())
        }
    }
}
