import Foundation
import PaneApp
import PaneCore
import PaneHub
import PaneRedis
import PaneSpoke
import PaneStore
import PaneTestKit
import Testing

@Suite struct FanOutTests {
    /// Three regions; the first has replica a (two worker processes) and replica b. 20,000 writes
    /// over 2,000 ids with deletes mixed in: every replica ends equal to the hub.
    @Test func everyReplicaConvergesToTheHub() async throws {
        try await TestScene.withHub("fanout", regions: ["fan0", "fan1", "fan2"]) { scene, hub in
            let regions = scene.regions
            let spokes = [
                try scene.spoke("a", region: regions[0], consumer: "w1"),
                try scene.spoke("a", region: regions[0], consumer: "w2"),
                try scene.spoke("b", region: regions[0]),
                try scene.spoke("a", region: regions[1]),
                try scene.spoke("a", region: regions[2]),
            ]

            var rng = SystemRandomNumberGenerator()
            var deletes = 0
            for i in 0..<20_000 {
                let id = try ContextID("ctx-\(Int.random(in: 0..<2_000, using: &rng))")
                if i % 10 == 9, try await hub.store.delete(id: id) != nil {
                    deletes += 1
                } else {
                    _ = try await hub.store.put(id: id, body: Array(#"{"n":\#(i),"pad":"\#(String(repeating: "x", count: 200))"}"#.utf8))
                }
            }
            #expect(deletes > 500)
            #expect(try await eventually(60) { try hub.drained() })
            let started = Date()

            // Each replica once: w1 and w2 share the first region's replica a and its file.
            for spoke in [spokes[0], spokes[2], spokes[3], spokes[4]] {
                try await scene.expectConverges(hub, spoke, alive: spokes)
                #expect(try hub.store.state(of: spoke.region).values.contains { $0.deleted })
            }
            print("fan-out: 20,000 writes x 3 regions applied everywhere \(Int(Date().timeIntervalSince(started) * 1000)) ms after the last publish")
            // Both workers of replica a took part, and the group has nothing left pending.
            let conn = try scene.connection()
            let groups = try conn.xinfoGroups(key: regions[0].keys.updates)
            #expect(groups.count == 2)
            #expect(groups.allSatisfy { $0["pending"]?.int == 0 })
            let consumers = try conn.xinfoConsumers(key: regions[0].keys.updates, group: .replica(ReplicaName("a")))
            #expect(consumers.count == 2)
            for spoke in spokes {
                #expect(spoke.child.stop() == 0, "a spoke did not exit 0 on SIGTERM: \(spoke.log().suffix(500))")
            }
        }
    }
}
