import Foundation
import PaneApp
import PaneCore
import PaneHub
import PaneRedis
import PaneRuntime
import PaneTestKit
import Testing

/// Redis Cluster against a real six-node cluster on loopback (three masters, three replicas):
/// the slot map Pane reads and the redirections it must follow.
@Suite struct ClusterTests {
    @Test func theSlotMapAndRedirectionsMatchARealCluster() async throws {
        try await TestCluster.with("cluster-map") { cluster, _ in
            try await BlockingThread.value(name: "cluster-map") {
                let map = try cluster.slotMap()
                #expect(map.uncoveredSlots == 0)
                #expect(map.masters.count == 3)
                #expect(map.ranges.allSatisfy { $0.replicas.count == 1 })

                // Pane's slot computation agrees with the server's for every key of many regions, and a
                // region's keys share one slot.
                let probe = try RedisConnection(endpoint: cluster.nodes[0].endpoint)
                for index in 0..<40 {
                    let keys = RegionKeys(try Region("r\(index)-\(UUID().uuidString.prefix(4).lowercased())"))
                    let names = [
                        keys.updates.rawValue, keys.deadLetters.rawValue, keys.resyncRequests.rawValue, keys.replicas.rawValue, keys.hub.rawValue,
                    ]
                    for name in names {
                        #expect(try probe.clusterKeyslot(name) == ClusterSlot.of(name))
                    }
                    #expect(Set(names.map(ClusterSlot.of)).count == 1)
                }

                // A command sent to a master that does not own the slot is redirected to the one the
                // map names; sent there, it succeeds.
                let key = "pane:{moved-\(UUID().uuidString.prefix(6))}:probe"
                let slot = ClusterSlot.of(key)
                let owner = try #require(map.master(of: slot))
                let other = try #require(map.masters.first { $0 != owner })
                let wrong = try RedisConnection(endpoint: RedisEndpoint(host: other.host, port: other.port))
                var redirection: ClusterRedirection?
                do {
                    try wrong.command(["SET", RedisArgument(key), "1"])
                } catch let error as RedisError {
                    redirection = ClusterRedirection(errorReply: error.message, answeredBy: other)
                }
                #expect(redirection == .moved(slot: slot, node: owner))
                let right = try RedisConnection(endpoint: RedisEndpoint(host: owner.host, port: owner.port))
                try right.command(["SET", RedisArgument(key), "1"])
                #expect(try right.command(["GET", RedisArgument(key)]).string == "1")
            }
        }
    }

    /// The cluster client follows `ASK` during a reshard of a region's slot and `MOVED` after it,
    /// in single commands and in pipelines, and finds the promoted replica after its master dies.
    @Test func theClientFollowsAReshardAndAFailover() async throws {
        try await TestCluster.with("cluster-client") { cluster, _ in
            let region = try TestEnv.region("cl")
            let moved = RedisKey("pane:{\(region.name)}:moved")
            let stays = RedisKey("pane:{\(region.name)}:stays")
            let slot = moved.hashSlot
            let seeds = [cluster.nodes[0].endpoint]
            let result = try await BlockingThread.value(name: "cluster-client") { () throws -> [String] in
                var seen: [String] = []
                let client = ClusterClient(cluster: ClusterMap(seeds: seeds), logger: TestEnv.logger)
                let warm = ClusterClient(cluster: ClusterMap(seeds: seeds), logger: TestEnv.logger)
                for key in [moved, stays] {
                    try client.run(slot: slot) { conn throws(RedisError) in _ = try conn.command(["SET", RedisArgument(key), "1"]) }
                }
                try warm.refresh()
                seen.append("redirections after writes: \(client.redirectionsFollowed)")
                let source = try client.master(of: slot)
                let target = try #require(try cluster.slotMap().masters.first { $0 != source })

                // Mid-move: the moved key answers ASK at the source, the other is still served there.
                let move = try cluster.beginMove(slot: slot, to: target)
                try move.migrate([moved])
                for key in [moved, stays] {
                    let value = try client.run(slot: slot) { conn throws(RedisError) in try conn.command(["GET", RedisArgument(key)]).string }
                    seen.append("\(key == moved ? "moved" : "stays") mid-move: \(value ?? "nil")")
                }
                seen.append("redirections mid-move: \(client.redirectionsFollowed)")
                #expect(try client.master(of: slot) == source)  // ASK keeps the map

                // After the move: MOVED, once; the map learns the new master.
                try move.migrateAll()
                try move.finish()
                for _ in 0..<2 {
                    let value = try client.run(slot: slot) { conn throws(RedisError) in try conn.command(["GET", RedisArgument(stays)]).string }
                    seen.append("after move: \(value ?? "nil")")
                }
                seen.append("redirections after move: \(client.redirectionsFollowed)")
                #expect(try client.master(of: slot) == target)

                // A pipeline with a stale map is redirected whole.
                let replies = try warm.run(slot: slot) { conn throws(RedisError) in
                    let replies = try conn.pipeline([["GET", RedisArgument(moved)], ["GET", RedisArgument(stays)]])
                    try replies.throwingRedirection()
                    return replies
                }
                seen.append("pipeline: \(replies.compactMap(\.string).joined(separator: ",")) after \(warm.redirectionsFollowed) redirection")

                // Failover: the slot's master dies; its replica is promoted and the client finds it.
                _ = try client.run(slot: slot) { conn throws(RedisError) in try conn.command(["WAIT", "1", "2000"]) }
                let dead = try #require(cluster.nodes.first { $0.address == target })
                dead.child.crash()
                let deadline = Date().addingTimeInterval(30)
                var after: String?
                while after == nil && Date() < deadline {
                    after = try? client.run(slot: slot) { conn throws(RedisError) in try conn.command(["GET", RedisArgument(stays)]).string }
                    if after == nil { usleep(100_000) }
                }
                seen.append("after failover: \(after ?? "nil") on a new master: \((try? client.master(of: slot)).map { $0 != target } ?? false)")
                return seen
            }
            #expect(
                result == [
                    "redirections after writes: 0",
                    "moved mid-move: 1", "stays mid-move: 1", "redirections mid-move: 1",
                    "after move: 1", "after move: 1", "redirections after move: 2",
                    "pipeline: 1,1 after 1 redirection",
                    "after failover: 1 on a new master: true",
                ])
        }
    }

    /// The core path on a cluster: six regions over three masters, a spoke per region, writes with
    /// deletes while one region's slot is resharded to another master and another region's master
    /// is killed (its replica is promoted; entries it acknowledged but never replicated are lost,
    /// and the gap is repaired by resync): every replica ends equal to the hub.
    @Test func theCorePathSurvivesAReshardAndAFailover() async throws {
        try await TestCluster.with("cluster-core") { cluster, folder in
            var spokes: [SpokeProcess] = []
            // Two regions per master.
            let map = try cluster.slotMap()
            var regions: [Region] = []
            var perMaster: [ClusterNode: Int] = [:]
            while regions.count < 6 {
                let region = try TestEnv.region("cc")
                guard let master = map.master(of: region.keys.updates.hashSlot), perMaster[master, default: 0] < 2 else { continue }
                perMaster[master, default: 0] += 1
                regions.append(region)
            }
            let seeds = ClusterMap(seeds: cluster.nodes.map(\.endpoint))
            var resync = ResyncConfiguration()
            resync.antiEntropyIntervalMs = 2_000
            let hub = try InProcessHub(regions: regions, dir: folder, cluster: seeds, resync: resync)
            for region in regions {
                spokes.append(
                    try SpokeProcess.start(
                        region: region, replica: "a", db: "\(folder)/\(region.name)-a.sqlite", dir: folder,
                        extra: ["--gap-stall-ms", "500", "--digest-interval-ms", "2000"], redisCluster: cluster.seeds))
            }
            let alive = spokes
            try await withCleanup {
                try await hub.run { hub in
                    func write(_ range: Range<Int>) async throws {
                        for i in range {
                            let id = try ContextID("ctx-\(i % 700)")
                            if i % 10 == 9 {
                                _ = try await hub.store.delete(id: id)
                            } else {
                                _ = try await hub.store.put(id: id, body: Array(#"{"n":\#(i)}"#.utf8))
                            }
                        }
                    }
                    try await write(0..<2_000)

                    // Reshard region 0's slot to another master while writes flow.
                    let slot = regions[0].keys.updates.hashSlot
                    let source = try #require(map.master(of: slot))
                    let target = try #require(map.masters.first { $0 != source })
                    let reshard = Task {
                        try await BlockingThread.value(name: "reshard") {
                            let move = try cluster.beginMove(slot: slot, to: target)
                            usleep(200_000)
                            try move.migrateAll()
                            try move.finish()
                        }
                    }
                    try await write(2_000..<4_000)
                    try await reshard.value
                    #expect(try cluster.slotMap().master(of: slot) == target)

                    // Kill the master of region 1 while writes flow; its replica takes over.
                    let victimAddress = try #require(try cluster.slotMap().master(of: regions[1].keys.updates.hashSlot))
                    let victim = try #require(cluster.nodes.first { $0.address == victimAddress })
                    victim.child.crash()
                    try await write(4_000..<6_000)
                    #expect(try await eventually(60) { try hub.drained() })
                    #expect(try cluster.slotMap().master(of: regions[1].keys.updates.hashSlot) != victimAddress)
                    try await write(6_000..<6_500)
                    #expect(try await eventually(60) { try hub.drained() })

                    for spoke in alive {
                        let convergence = try await Convergence.wait(hub: hub.store, region: spoke.region, db: spoke.db, alive: alive, seconds: 120)
                        #expect(convergence.converged, "\(convergence)")
                    }
                }

                // The admin commands find each region on its master.
                let status = try await PaneCommand.run(["admin", "status", "--redis-cluster", cluster.seeds])
                #expect(status.status == 0, "\(status.output)")
                #expect(status.output.components(separatedBy: "node 127.0.0.1:").count - 1 == 3, "\(status.output)")
                for region in regions {
                    #expect(status.output.contains(region.name), "\(region.name) missing: \(status.output)")
                }
                let letters = try await PaneCommand.run(["admin", "dlq", "list", "--redis-cluster", cluster.seeds, "--region", regions[1].name])
                #expect(letters.status == 0, "\(letters.output)")
                let clash = try await PaneCommand.run(["admin", "status", "--redis-cluster", cluster.seeds, "--redis", "redis://127.0.0.1:1"])
                #expect(clash.status == 2 && clash.output.contains("redis.url is set too"), "\(clash.output)")
            } cleanup: {
                await BlockingThread.run(name: "spokes-stop") { for spoke in alive { spoke.child.stop() } }
            }
        }
    }
}
