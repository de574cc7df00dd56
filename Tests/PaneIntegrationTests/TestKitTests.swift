import Foundation
import PaneCore
import PaneHub
import PaneRedis
import PaneTestKit
import Testing

/// The kit itself: what the other tests rely on when they start a hub or a scene.
@Suite struct TestKitTests {
    /// The in-process hub runs the executable's loops (the publisher publishes, the resync
    /// worker answers a request) and, once its body returns, has stopped them: a later write stays
    /// in the outbox.
    @Test func inProcessHubRunsTheHubsLoopsAndStopsThem() async throws {
        try await TestScene.run("kit-hub") { scene in
            let conn = try scene.connection()
            let hub = try scene.hub()
            try await hub.run { hub in
                _ = try await hub.store.put(id: try ContextID("one"), body: Array("{}".utf8))
                #expect(try await eventually(10) { try hub.drained() })
                let request = ResyncRequest(requestID: "kit", replica: nil, reason: "kit", buckets: nil)
                _ = try conn.xadd(key: scene.region.keys.resyncRequests, fields: [(ResyncRequest.field, request.encoded())])
                let answered = try await HubResyncTests.announcement(in: scene.region, requestID: "kit", conn: conn)
                #expect(answered?.1.rows == 1)
                #expect(try await eventually(10) { try hub.drained() })
            }
            let published = try conn.xlen(key: scene.region.keys.updates)
            #expect(published == 2)
            _ = try await hub.store.put(id: try ContextID("two"), body: Array("{}".utf8))
            try await Task.sleep(for: .milliseconds(500))
            #expect(try !hub.drained())
            #expect(try conn.xlen(key: scene.region.keys.updates) == published)
        }
    }

    /// A scene stops the spokes it started and deletes its regions' keys when its body ends,
    /// also when the body throws.
    @Test func sceneStopsItsSpokesAndDeletesItsKeys() async throws {
        struct Planned: Error {}
        let conn = try TestEnv.connection()
        let left = Locked<(spoke: SpokeProcess, region: Region)?>(nil)
        await #expect(throws: Planned.self) {
            try await TestScene.run("kit-scene") { scene in
                let spoke = try scene.spoke("a")
                left.value = (spoke, scene.region)
                #expect(await eventually(20) { (try? spoke.probe().get("/readyz").status) == 200 })
                let keys: [any RedisKeyName] = [scene.region.keys.updates, scene.region.keys.replicas]
                #expect(try await eventually(20) { try conn.exists(keys) == 2 })
                throw Planned()
            }
        }
        let (spoke, region) = try #require(left.value)
        #expect(!spoke.child.isRunning)
        let keys: [any RedisKeyName] = [region.keys.updates, region.keys.replicas]
        #expect(try conn.exists(keys) == 0)
    }
}
