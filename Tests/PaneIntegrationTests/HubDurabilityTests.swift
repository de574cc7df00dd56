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

    /// `sync-before-publish` commits with NORMAL and syncs the WAL once per publish round that
    /// has new commits, and only then.
    @Test func syncBeforePublishSyncsTheWALOncePerRoundWithNewCommits() async throws {
        let dir = try TestEnv.directory("durable-round")
        let store = try HubStore(path: "\(dir)/hub.sqlite", regions: [try Region("r")], durability: .syncBeforePublish)
        #expect(try store.writerSynchronous() == 1)
        try store.syncBeforePublish()
        #expect(store.walSyncs == 0, "nothing committed yet")
        for i in 0..<5 { _ = try await store.put(id: try ContextID("a\(i)"), body: Array("1".utf8)) }
        try store.syncBeforePublish()
        #expect(store.walSyncs == 1, "one sync covers every commit before it")
        try store.syncBeforePublish()
        #expect(store.walSyncs == 1, "no new commit, no sync")
        _ = try await store.republish(ids: [try ContextID("a1")], region: try Region("r"))
        try store.syncBeforePublish()
        #expect(store.walSyncs == 2, "a republish is a commit too")
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
