import Foundation
import PaneApp
import PaneCore
import PaneHub
import PaneRedis
import PaneSpoke
import PaneStore
import Testing

@Suite struct FanOutTests {
    /// Three regions; the first has replica a (two worker processes) and replica b. 20,000 writes
    /// over 2,000 ids with deletes mixed in: every replica ends equal to the hub.
    @Test func everyReplicaConvergesToTheHub() async throws {
        let dir = try TestEnv.directory("fanout")
        let regions = try (0..<3).map { try TestEnv.region("fan\($0)") }
        defer { TestEnv.cleanUp(regions) }
        let hub = try InProcessHub(regions: regions, dir: dir)
        defer { hub.stop() }

        let r0a = "\(dir)/r0-a.sqlite"
        var spokes = [
            try SpokeProcess.start(region: regions[0], replica: "a", db: r0a, dir: dir, consumer: "w1"),
            try SpokeProcess.start(region: regions[0], replica: "a", db: r0a, dir: dir, consumer: "w2"),
            try SpokeProcess.start(region: regions[0], replica: "b", db: "\(dir)/r0-b.sqlite", dir: dir),
        ]
        spokes.append(try SpokeProcess.start(region: regions[1], replica: "a", db: "\(dir)/r1-a.sqlite", dir: dir))
        spokes.append(try SpokeProcess.start(region: regions[2], replica: "a", db: "\(dir)/r2-a.sqlite", dir: dir))
        defer { for spoke in spokes { spoke.child.stop() } }

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

        let replicas: [(Region, String)] = [
            (regions[0], r0a), (regions[0], "\(dir)/r0-b.sqlite"), (regions[1], "\(dir)/r1-a.sqlite"), (regions[2], "\(dir)/r2-a.sqlite"),
        ]
        for (region, db) in replicas {
            let ok = try await converges(hub: hub.store, region: region, db: db, alive: spokes)
            if !ok {
                Issue.record("\(db) did not converge: \(difference(try hub.store.state(of: region), try ReplicaStore(path: db).state()))")
            }
            #expect(try hub.store.state(of: region).values.contains { $0.deleted })
        }
        print("fan-out: 20,000 writes x 3 regions applied everywhere \(Int(Date().timeIntervalSince(started) * 1000)) ms after the last publish")
        // Both workers of replica a took part, and the group has nothing left pending.
        let conn = try TestEnv.connection()
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
