import Foundation
import PaneApp
import PaneCore
import PaneRedis
import PaneRuntime
import PaneStore
import PaneTestKit
import Testing

/// Issue 13, item 5: a bootstrap snapshot is announced first and streamed, so the replica
/// applies chunk k while the hub writes chunk k+1. Real processes: `pane hub`, `pane spoke`,
/// redis-server. Every chunk is untrusted: a snapshot that breaks off, loses a chunk or holds a
/// damaged one is given up, and the replica stays `bootstrapping` until a new one finishes.
@Suite struct SnapshotStreamTests {
    /// 20,000 contexts: 10 chunks of 2,000 rows.
    static let contexts = 20_000
    static let chunks = 10

    /// A hub file holding ``contexts`` contexts of the scene's region, all marked published, and
    /// a region stream that is empty at the hub's last seq, as if trimmed: a new replica must
    /// bootstrap from a snapshot. Returns the store (open, for the convergence check) and the seq.
    static func trimmedHub(_ scene: TestScene) async throws -> (HubStore, UInt64) {
        let store = try HubStore(path: scene.path("hub.sqlite"), regions: [scene.region])
        try await ResyncTests.write(store, count: contexts, ids: contexts)
        let last = try store.lastSeq(region: scene.region)
        store.markPublished(region: scene.region, upTo: last)
        try store.persistPublished()
        try await BlockingThread.value(name: "test-trim") {
            let conn = try scene.connection()
            try conn.xadd(key: scene.region.keys.updates, id: "\(last)-0", fields: [("x", Array("1".utf8))])
            try conn.xtrim(key: scene.region.keys.updates, to: .maxLength(0), approximate: false)
        }
        return (store, last)
    }

    /// `pane hub` over the scene's regions on the scene's file, with `environment` added to the test's.
    static func hub(_ scene: TestScene, environment: [String: String] = [:], logName: String = "hub.log") throws -> HubProcess {
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        return try HubProcess.start(
            regions: scene.regions, dir: scene.directory, db: scene.path("hub.sqlite"), extra: ["--log-level", "info"], environment: env,
            redis: scene.redis, logName: logName)
    }

    /// The streamed announcements in the region stream, oldest first.
    static func streamed(_ scene: TestScene) throws -> [SnapshotAnnouncement] {
        try HubResyncTests.snapEntries(in: scene.region, conn: scene.connection()).map(\.1).filter(\.isStreamed)
    }

    /// The last element of a streamed snapshot's list, decoded (`nil` when the list is empty or gone).
    static func lastElement(_ scene: TestScene, _ announcement: SnapshotAnnouncement) throws -> SnapshotStreamCodec.Element? {
        try scene.connection().lindex(key: announcement.listKey, index: -1).flatMap { try? SnapshotStreamCodec.decode($0) }
    }

    static func isEnd(_ element: SnapshotStreamCodec.Element?) -> Bool {
        if case .end = element { return true }
        return false
    }

    static func readyStatus(_ spoke: SpokeProcess) -> Int? { try? spoke.probe().get("/readyz").status }

    @Test func aReplicaAppliesAStreamedSnapshotWhileTheHubStillWritesIt() async throws {
        try await TestScene.run("streamboot", regions: ["stboot"]) { scene in
            let (store, last) = try await Self.trimmedHub(scene)
            // 300 ms per chunk: the hub needs about 3 s for the whole snapshot.
            let hub = try Self.hub(scene, environment: ["PANE_FAULT_SNAPSHOT_WRITE_DELAY_MS": "300"])
            defer { hub.child.stop() }
            let spoke = try scene.spoke("a")
            let replica = try ReplicaStore(path: spoke.db)
            #expect(
                try await eventually(60, poll: 0.02) {
                    guard let announcement = try Self.streamed(scene).first, let inFlight = try replica.resyncView().inFlight else { return false }
                    return inFlight.epoch == announcement.epoch && inFlight.chunksDone >= 1
                }, "\(spoke.log().suffix(1500))")
            // Chunk 0 is applied; the hub has not written the end of the list yet (it needs about 3 s).
            let announcement = try #require(try Self.streamed(scene).first)
            let overlapped = !Self.isEnd(try Self.lastElement(scene, announcement))
            let readyWhileStreaming = Self.readyStatus(spoke)
            #expect(overlapped, "the replica should apply a chunk before the hub has written the last one: \(spoke.log().suffix(1500))")
            #expect(readyWhileStreaming != 200, "a bootstrapping replica is not ready")
            let convergence = try await Convergence.wait(hub: store, region: scene.region, db: spoke.db, alive: [spoke], seconds: 120)
            #expect(convergence.converged, "\(convergence)")
            #expect(try await eventually(30) { try replica.appliedRanges().watermark >= last })
            #expect(await eventually(30) { Self.readyStatus(spoke) == 200 })
            let log = spoke.log()
            #expect(log.contains("snapshot applied") && log.contains("streamed=true"), "\(log.suffix(1500))")
            #expect(hub.log().contains("streamed=true"), "\(hub.log().suffix(1500))")
            #expect(!log.contains("cannot apply the snapshot"), "\(log.suffix(1500))")
        }
    }

    @Test func aSpokeKilledInTheMiddleOfAStreamedBootstrapResumesAndIsNotReadyBeforeItEnds() async throws {
        try await TestScene.run("streamkill", regions: ["stkill"]) { scene in
            let (store, last) = try await Self.trimmedHub(scene)
            let hub = try Self.hub(scene, environment: ["PANE_FAULT_SNAPSHOT_WRITE_DELAY_MS": "100"])
            defer { hub.child.stop() }
            let first = try scene.spoke("a", environment: ["PANE_FAULT_SNAPSHOT_CHUNK_DELAY_MS": "300"])
            let replica = try ReplicaStore(path: first.db)
            #expect(try await eventually(60, poll: 0.02) { (try replica.resyncView().inFlight?.chunksDone ?? 0) >= 2 }, "\(first.log().suffix(1500))")
            first.child.crash()
            let view = try replica.resyncView()
            #expect(view.inFlight?.bootstrapping == true)
            #expect((view.inFlight?.chunksDone ?? 0) < Self.chunks, "the test must kill the spoke before the snapshot ends")

            let second = try scene.spoke("a", db: first.db)
            // Until the snapshot ends, the restarted replica must not say it is ready.
            var readyTooEarly = false
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline {
                // Readiness first, then the view: a snapshot that ends between the two reads (the
                // view said in flight, then the probe said ready) is not a replica ready too early.
                let ready = Self.readyStatus(second) == 200
                let view = try replica.resyncView()
                if view.inFlight != nil, ready { readyTooEarly = true }
                if view.inFlight == nil && view.ranges.watermark >= last { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(!readyTooEarly, "the replica reported ready with a part of the snapshot")
            let convergence = try await Convergence.wait(hub: store, region: scene.region, db: second.db, alive: [second], seconds: 60)
            #expect(convergence.converged, "\(convergence)")
            #expect(second.log().contains("resuming a snapshot"), "\(second.log().suffix(1500))")
            #expect(await eventually(30) { Self.readyStatus(second) == 200 })
            // One snapshot did it: the restart resumed it instead of asking again.
            // (At most one announcement left: the hub may have trimmed it once it was applied.)
            #expect(try Self.streamed(scene).count <= 1)
        }
    }

    /// A chunk removed from the list, a chunk that does not decode, or the whole list deleted:
    /// the replica gives the snapshot up, stays bootstrapping (not ready with part of the
    /// region), asks again, and converges from the next snapshot.
    @Test(arguments: ["missing", "corrupt", "gone"])
    func aDamagedStreamedSnapshotIsGivenUpAndTheReplicaStaysBootstrappingUntilTheNextOneEnds(damage: String) async throws {
        try await TestScene.run("streamdamage-\(damage)", regions: ["stdmg\(damage.prefix(2))"]) { scene in
            let (store, last) = try await Self.trimmedHub(scene)
            let hub = try Self.hub(scene)
            defer { hub.child.stop() }
            let spoke = try scene.spoke("a", environment: ["PANE_FAULT_SNAPSHOT_CHUNK_DELAY_MS": "200"])
            let replica = try ReplicaStore(path: spoke.db)
            #expect(
                try await eventually(60, poll: 0.02) {
                    guard let announcement = try Self.streamed(scene).first else { return false }
                    guard Self.isEnd(try Self.lastElement(scene, announcement)) else { return false }
                    return (try replica.resyncView().inFlight?.chunksDone ?? 0) >= 1
                }, "\(spoke.log().suffix(1500))")
            let announcement = try #require(try Self.streamed(scene).first)
            #expect((try replica.resyncView().inFlight?.chunksDone ?? 0) < 5, "the damage must come before the replica reads chunk 6")
            try await BlockingThread.value(name: "test-damage") {
                let conn = try scene.connection()
                let key = announcement.listKey
                let element = SnapshotStreamCodec.listIndex(ofChunk: 6)
                switch damage {
                case "missing":
                    _ = try conn.command(["LSET", RedisArgument(key), RedisArgument(element), RedisArgument("removed")])
                    _ = try conn.command(["LREM", RedisArgument(key), RedisArgument(1), RedisArgument("removed")])
                case "corrupt":
                    // Chunk 6's header, then a row cut short.
                    let bad: [UInt8] = [1, 6, 0, 0, 0, 200, 0, 65]
                    _ = try conn.command(["LSET", RedisArgument(key), RedisArgument(element), RedisArgument(bad)])
                default:
                    _ = try conn.del([key])
                }
            }
            #expect(
                await eventually(60, poll: 0.02) { spoke.log().contains("cannot apply the snapshot") }, "\(spoke.log().suffix(1500))")
            // Given up: part of the region is in the file, and the replica says it is still bootstrapping.
            let view = try replica.resyncView()
            #expect(view.inFlight?.bootstrapping == true, "\(String(describing: view.inFlight))")
            #expect(view.ranges.watermark < last)
            #expect(Self.readyStatus(spoke) != 200)
            let convergence = try await Convergence.wait(hub: store, region: scene.region, db: spoke.db, alive: [spoke], seconds: 120)
            #expect(convergence.converged, "\(convergence)")
            #expect(try await eventually(30) { try replica.appliedRanges().watermark >= last })
            // Ready again: only a whole new snapshot ends a bootstrap. (Its announcement is not
            // counted in the stream: the hub may already have trimmed it once the replica applied it.)
            #expect(await eventually(30) { Self.readyStatus(spoke) == 200 })
            #expect(try replica.resyncView().inFlight == nil)
        }
    }

    /// The hub dies while it streams: the list stops growing, the replica gives the snapshot up
    /// after `spoke.resyncTimeoutMs` without a chunk, and the next hub serves the request again.
    @Test func aHubKilledInTheMiddleOfAStreamedSnapshotIsGivenUpAndServedAgain() async throws {
        try await TestScene.run("streamhubkill", regions: ["sthkill"]) { scene in
            let (store, last) = try await Self.trimmedHub(scene)
            let first = try Self.hub(scene, environment: ["PANE_FAULT_SNAPSHOT_WRITE_DELAY_MS": "400"])
            let spoke = try scene.spoke("a", extra: ["--resync-timeout-ms", "3000"])
            let replica = try ReplicaStore(path: spoke.db)
            #expect(try await eventually(60, poll: 0.02) { (try replica.resyncView().inFlight?.chunksDone ?? 0) >= 1 }, "\(spoke.log().suffix(1500))")
            first.child.crash()
            let announcement = try #require(try Self.streamed(scene).first)
            #expect(!Self.isEnd(try Self.lastElement(scene, announcement)), "the hub must die before it ends the snapshot")
            let second = try Self.hub(scene, logName: "hub2.log")
            defer { second.child.stop() }
            let convergence = try await Convergence.wait(hub: store, region: scene.region, db: spoke.db, alive: [spoke], seconds: 120)
            #expect(convergence.converged, "\(convergence)")
            #expect(try await eventually(30) { try replica.appliedRanges().watermark >= last })
            #expect(spoke.log().contains("the hub stopped writing it"), "\(spoke.log().suffix(1500))")
            #expect(await eventually(30) { Self.readyStatus(spoke) == 200 })
        }
    }
}
