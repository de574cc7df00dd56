import Foundation
import PaneCore
import PaneStore
import PaneTestKit
import Testing

/// `hub.durability`: no row leaves the hub before its commit is on disk.
@Suite struct HubDurabilityTests {
    /// `full` makes every commit sync itself; the publisher then has nothing to sync.
    @Test func fullSyncsEveryCommit() async throws {
        let dir = try TestEnv.directory("durable-full")
        let store = try HubStore(path: "\(dir)/hub.sqlite", regions: [try Region("r")], durability: .full)
        #expect(try store.writerSynchronous() == 2)
        _ = try await store.put(id: try ContextID("a"), body: Array("1".utf8))
        try store.syncBeforePublish()
        #expect(store.walSyncs == 0)
    }

    /// `full`: the publisher's marks are written without a sync of their own, and the writer is
    /// back at FULL right after, so every write's commit still syncs itself; the marks and the
    /// outbox rows they delete are in the file when it is opened again.
    @Test func persistingThePublishedMarksLeavesEveryCommitSyncing() async throws {
        let dir = try TestEnv.directory("durable-marks")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let region = try Region("marks")
        do {
            let store = try HubStore(path: "\(dir)/hub.sqlite", regions: [region], durability: .full)
            for i in 0..<3 { _ = try await store.put(id: try ContextID("m\(i)"), body: Array("1".utf8)) }
            store.markPublished(region: region, upTo: 2)
            #expect(try store.persistPublished() == 2, "the two published outbox rows are deleted")
            #expect(try store.writerSynchronous() == 2, "the writer went back to FULL")
            let later = try await store.put(id: try ContextID("m-later"), body: Array("2".utf8))
            #expect(later.version == 1)
            #expect(try store.writerSynchronous() == 2)
        }
        let reopened = try HubStore(path: "\(dir)/hub.sqlite", regions: [region], durability: .full)
        #expect(try reopened.publishedSeq(region: region) == 2)
        #expect(try reopened.outbox(region: region, limit: 10).updates.map(\.seq) == [3, 4])
    }

    /// `sync-before-publish` commits with NORMAL, and the publisher syncs the WAL before each
    /// round it sends: a hub that published N rounds synced at least once and at most N times.
    @Test func syncBeforePublishSyncsTheWALBeforeEachRound() async throws {
        try await TestScene.run("durable-round") { scene in
            let hub = try InProcessHub(regions: scene.regions, dir: scene.directory, durability: .syncBeforePublish)
            #expect(try hub.store.writerSynchronous() == 1)
            for i in 0..<5 { _ = try await hub.store.put(id: try ContextID("a\(i)"), body: Array("1".utf8)) }
            #expect(hub.store.walSyncs == 0, "commits alone do not sync")
            try await hub.run { hub in
                #expect(try await eventually(20) { try hub.drained() })
                #expect(hub.store.walSyncs >= 1, "the round went out after a sync")
                let before = hub.store.walSyncs
                _ = try await hub.store.put(id: try ContextID("b"), body: Array("2".utf8))
                #expect(try await eventually(20) { try hub.drained() && hub.store.walSyncs > before })
            }
            #expect(try scene.connection().xlen(key: scene.region.keys.updates) == 6)
        }
    }

    /// A hub with either setting publishes as usual; a bad value is refused, naming the key.
    @Test func bothSettingsPublishAndABadOneIsRefused() async throws {
        try await TestScene.run("durability", regions: ["durability-a", "durability-b"]) { scene in
            for (mode, region) in zip(["sync-before-publish", "full"], scene.regions) {
                let hubProcess = try HubProcess.start(
                    regions: [region], dir: scene.directory, db: scene.path("hub-\(mode).sqlite"), extra: ["--durability", mode],
                    logName: "hub-\(mode).log")
                defer { hubProcess.child.stop() }
                #expect(await hubProcess.ready(), "\(hubProcess.log())")
                #expect(try hubProcess.probe().request("PUT", "/v1/contexts/d-\(mode)", body: Array("{\"m\":1}".utf8)).status == 200)
                let read = scene.connection
                #expect(try await eventually(20) {
                    try read().xrange(key: region.keys.updates).contains { entry in
                        (entry.fields ?? []).contains { $0.0 == "ctx" && $0.1 == Array("d-\(mode)".utf8) }
                    }
                }, "\(hubProcess.log())")
                #expect(hubProcess.child.stop() == 0)
            }
            let bad = try await PaneCommand.run(
                ["hub", "--regions", scene.region.name, "--db", scene.path("bad.sqlite"), "--durability", "sometimes"])
            #expect(bad.status == 2 && bad.output.contains("hub.durability") && bad.output.contains("sync-before-publish"), "\(bad.output)")
        }
    }
}
