import Foundation
import PaneApp
import PaneCore
import PaneRedis
import PaneRuntime
import PaneTestKit
import Testing

/// Redis Cluster against a real six-node cluster on loopback (three masters, three replicas):
/// the slot map Pane reads and the redirections it must follow.
@Suite struct ClusterTests {
    @Test func theSlotMapAndRedirectionsMatchARealCluster() async throws {
        let folder = try TestEnv.directory("cluster-map")
        let started = Date()
        let cluster = try await BlockingThread.value(name: "cluster-start") { try RedisClusterProcess(directory: folder) }
        defer {
            cluster.stop()
            try? FileManager.default.removeItem(atPath: folder)
        }
        #expect(Date().timeIntervalSince(started) < 60)
        let map = try cluster.slotMap()
        #expect(map.uncoveredSlots == 0)
        #expect(map.masters.count == 3)
        #expect(map.ranges.allSatisfy { $0.replicas.count == 1 })

        // Pane's slot computation agrees with the server's for every key of many regions, and a
        // region's keys share one slot.
        let probe = try RedisConnection(endpoint: cluster.nodes[0].endpoint)
        for index in 0..<40 {
            let keys = RegionKeys(try Region("r\(index)-\(UUID().uuidString.prefix(4).lowercased())"))
            let names = [keys.updates.rawValue, keys.deadLetters.rawValue, keys.resyncRequests.rawValue, keys.replicas.rawValue, keys.hub.rawValue]
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
        } catch {
            redirection = ClusterRedirection(errorReply: error.message, answeredBy: other)
        }
        #expect(redirection == .moved(slot: slot, node: owner))
        let right = try RedisConnection(endpoint: RedisEndpoint(host: owner.host, port: owner.port))
        try right.command(["SET", RedisArgument(key), "1"])
        #expect(try right.command(["GET", RedisArgument(key)]).string == "1")
    }
}
