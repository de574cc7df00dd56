import Foundation
import PaneApp
import PaneCore
import PaneHub
import PaneRedis
import PaneStore
import PaneTestKit
import Testing

/// Entries that anyone with Redis access can write must not hurt a replica: each forged entry
/// leaves every replica equal to the hub, with the spoke still running, also after a restart.
@Suite struct ForgedEntryTests {
    /// A valid put (checksum and all) of `id` at `version`, as an attacker would forge it.
    static func forgedPut(_ id: String, version: Int64 = 999) throws -> [(String, [UInt8])] {
        StreamEntryCodec.encode(
            ContextUpdate(seq: 1, id: try ContextID(id), version: version, op: .put, body: Array(#"{"forged":true}"#.utf8), hubTimeUs: WallClock.nowUs()))
    }

    /// The dead letters whose fields say the replica moved `entryID`.
    static func spokeDeadLetter(_ scene: TestScene, entryID: String) throws -> [String: String]? {
        try scene.deadLetters().first { $0["dlq-entry-id"] == entryID }
    }

    /// A hub that has published `count` contexts and a spoke of replica `a` that holds them.
    static func withConvergedSpoke(
        _ name: String, count: Int = 20, resync: ResyncConfiguration = ResyncConfiguration(), spokeFlags: [String] = [],
        _ body: (TestScene, InProcessHub, SpokeProcess, RedisConnection) async throws -> Void
    ) async throws {
        try await TestScene.withHub(name, resync: resync) { scene, hub in
            for i in 0..<count { _ = try await hub.store.put(id: try ContextID("c\(i)"), body: Array(#"{"i":\#(i)}"#.utf8)) }
            #expect(try await eventually(10) { try hub.drained() })
            let spoke = try scene.spoke("a", extra: spokeFlags)
            try await scene.expectConverges(hub, spoke, seconds: 30)
            try await body(scene, hub, spoke, try scene.connection())
        }
    }

    /// The hub writes more, the replica converges, and a restarted spoke converges too.
    static func expectHealsAndSurvivesRestart(
        _ scene: TestScene, _ hub: InProcessHub, _ spoke: SpokeProcess, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        for i in 0..<5 { _ = try await hub.store.put(id: try ContextID("after\(i)"), body: Array("\(i)".utf8)) }
        try await scene.expectConverges(hub, spoke, seconds: 30, sourceLocation: sourceLocation)
        #expect(spoke.child.isRunning, "the spoke exited: \(spoke.log().suffix(800))", sourceLocation: sourceLocation)
        #expect(spoke.child.stop() == 0, sourceLocation: sourceLocation)
        let restarted = try scene.spoke("a")
        _ = try await hub.store.put(id: try ContextID("restarted"), body: Array("1".utf8))
        try await scene.expectConverges(hub, restarted, seconds: 30, sourceLocation: sourceLocation)
        try await Task.sleep(for: .seconds(1))
        #expect(restarted.child.isRunning, "the restarted spoke exited: \(restarted.log().suffix(800))", sourceLocation: sourceLocation)
        #expect(await eventually(10) { (try? restarted.probe().get("/readyz").status) == 200 }, sourceLocation: sourceLocation)
    }

    /// `9223372036854775808-0` is a valid Redis id whose seq does not fit the store: it crashed
    /// the spoke, at every restart. Now it is a dead letter that names the problem, and the hub
    /// moves it aside (and the group back) on its next write.
    @Test func anOverflowingSeqIsADeadLetterNotACrash() async throws {
        try await Self.withConvergedSpoke("forged-overflow") { scene, hub, spoke, conn in
            let region = scene.region
            let id = "9223372036854775808-0"
            try conn.xadd(key: region.keys.updates, id: id, fields: Self.forgedPut("c1"))
            #expect(try await eventually(10) { try Self.spokeDeadLetter(scene, entryID: id) != nil }, "\(spoke.log().suffix(800))")
            let letter = try #require(try Self.spokeDeadLetter(scene, entryID: id))
            #expect(letter["dlq-reason"]?.contains("does not fit a signed 64-bit integer") == true, "\(letter)")
            #expect(letter["dlq-kind"] == "permanent")
            #expect(try ReplicaStore(path: spoke.db).staleContexts().isEmpty, "a foreign entry marks nothing stale")
            #expect(spoke.child.isRunning)
            try await Self.expectHealsAndSurvivesRestart(scene, hub, spoke)
            #expect(try conn.xrange(key: region.keys.updates, start: id, end: id).isEmpty, "the hub moved the foreign entry aside")
        }
    }

    /// `XADD … *` makes a millisecond id, far above every seq: accepted as a seq, it wrote a
    /// version no update would replace, and the replica's group, left past the hub's seqs after
    /// the hub moved the entry aside, received nothing again. Now it is a dead letter, and the
    /// hub moves the group back.
    @Test func aMillisecondIdIsADeadLetterAndTheGroupIsMovedBack() async throws {
        try await Self.withConvergedSpoke("forged-ms") { scene, hub, spoke, conn in
            let region = scene.region
            let id = try conn.xadd(key: region.keys.updates, id: "*", fields: Self.forgedPut("c2"))
            #expect(try await eventually(10) { try Self.spokeDeadLetter(scene, entryID: id) != nil }, "\(spoke.log().suffix(800))")
            let letter = try #require(try Self.spokeDeadLetter(scene, entryID: id))
            #expect(letter["dlq-reason"]?.contains("beyond the hub's highest seq") == true, "\(letter)")
            let group = try conn.xinfoGroups(key: region.keys.updates).first { $0["name"]?.string == "replica:a" }
            #expect(group?["last-delivered-id"]?.string == id, "the forged entry was delivered to the group")
            try await Self.expectHealsAndSurvivesRestart(scene, hub, spoke)
            let moved = try conn.xinfoGroups(key: region.keys.updates).first { $0["name"]?.string == "replica:a" }
            let delivered = try #require(moved?["last-delivered-id"]?.string)
            #expect(!EntryIDRule.isAfter(delivered, try hub.store.lastSeq(region: region).description + "-0"))
            #expect(try ReplicaStore(path: spoke.db).state()[try ContextID("c2")]?.version == 1)
        }
    }

    /// A forged `snap` announcement made a replica delete every row. One with an id past the
    /// hub's seq is a dead letter; one that also lifted the hub's seq (`pane:{R}:hub`) answers
    /// no request of the replica's and is refused (a dead letter too): every row stays. It took
    /// the hub's next seq, which the hub then skips: the replica sees the gap and resyncs.
    @Test func aForgedSnapshotAnnouncementDeletesNothing() async throws {
        try await Self.withConvergedSpoke("forged-snap") { scene, hub, spoke, conn in
            let region = scene.region
            let top = try hub.store.lastSeq(region: region)
            let epoch: Int64 = 4_242
            func forgedSnap() throws -> [(String, [UInt8])] {
                let announcement = SnapshotAnnouncement(
                    key: region.keys.snapshot(epoch: epoch).rawValue, epoch: epoch, seq: top, chunks: 0, rows: 0, replicas: nil, buckets: nil,
                    requestIDs: ["forged-request"], reason: "forged")
                return StreamEntryCodec.encode(
                    ContextUpdate(
                        seq: 1, id: try ContextID(region.keys.snapshot(epoch: epoch).rawValue), version: epoch, op: .snap,
                        body: announcement.encoded(), hubTimeUs: WallClock.nowUs()))
            }
            let expected = try hub.store.state(of: region)
            let replica = try ReplicaStore(path: spoke.db)

            // Past the hub's seq: a dead letter.
            let past = try conn.xadd(key: region.keys.updates, id: "*", fields: forgedSnap())
            #expect(try await eventually(10) { try Self.spokeDeadLetter(scene, entryID: past) != nil }, "\(spoke.log().suffix(800))")
            #expect(try replica.state() == expected)

            // With the hub's seq lifted too: refused by the snapshot guard.
            try conn.hset(key: region.keys.hub, field: RegionKeys.HubField.seq, value: String(top + 1_000))
            try conn.xdel(key: region.keys.updates, ids: [past])
            try conn.xsetid(key: region.keys.updates, lastID: "\(top)-0")
            try conn.xgroupSetID(key: region.keys.updates, group: .replica(try ReplicaName("a")), id: "\(top)-0")
            try conn.xadd(key: region.keys.updates, id: "\(top + 1)-0", fields: forgedSnap())
            #expect(try await eventually(10) { try Self.spokeDeadLetter(scene, entryID: "\(top + 1)-0") != nil }, "\(spoke.log().suffix(800))")
            let letter = try #require(try Self.spokeDeadLetter(scene, entryID: "\(top + 1)-0"))
            #expect(letter["dlq-reason"]?.contains("answers no resync request of this replica") == true, "\(letter)")
            #expect(spoke.log().contains("snapshot announcement refused"))
            try await Task.sleep(for: .milliseconds(500))
            #expect(try replica.state() == expected, "the forged announcement removed rows")
            try await Self.expectHealsAndSurvivesRestart(scene, hub, spoke)
        }
    }

    /// Anyone can XADD resync requests, and each one served costs a snapshot of the region. A
    /// flood, for made-up replicas and for the real one, builds at most
    /// `hub.maxSnapshotsPerMinute` snapshots, and the replica stays equal to the hub.
    @Test func aFloodOfResyncRequestsIsThrottled() async throws {
        var resync = ResyncConfiguration()
        resync.maxSnapshotsPerMinute = 3
        try await Self.withConvergedSpoke("forged-flood", resync: resync) { scene, hub, spoke, conn in
            let region = scene.region
            let started = Date()
            var sent = 0
            while Date().timeIntervalSince(started) < 4 {
                let replica = sent % 3 == 0 ? "a" : "fake\(sent)"
                let request = ResyncRequest(requestID: "flood-\(sent)", replica: replica, reason: "flood", buckets: nil)
                try conn.xadd(key: region.keys.resyncRequests, fields: [(ResyncRequest.field, request.encoded())])
                sent += 1
                if sent % 10 == 0 { _ = try await hub.store.put(id: try ContextID("during\(sent)"), body: Array("\(sent)".utf8)) }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(try await eventually(10) { try hub.drained() })
            try await Task.sleep(for: .seconds(1))
            let snapshots = try Self.snapshotEntries(conn, region)
            #expect((1...3).contains(snapshots), "\(snapshots) snapshots for \(sent) requests")
            #expect(try conn.xpendingSummary(key: region.keys.resyncRequests, group: .hub).count == 0, "every request is acked")
            try await Self.expectHealsAndSurvivesRestart(scene, hub, spoke)
        }
    }

    /// Requests for one replica wait while a snapshot served for it is pending: a flood in its
    /// name builds a few snapshots, not one per round. Each answers forged requests, so the
    /// replica refuses it (a dead letter) and asks for its own resync; its heartbeat names that
    /// request, so the hub serves it despite the flood, and the replica's watermark catches up
    /// within seconds, not after the pending resync's minute.
    @Test func oneReplicaHasOnePendingResyncAtATime() async throws {
        try await Self.withConvergedSpoke("forged-flood-one") { scene, hub, spoke, conn in
            let region = scene.region
            for i in 0..<150 {
                let request = ResyncRequest(requestID: "forged-\(i)", replica: "a", reason: "flood", buckets: nil)
                try conn.xadd(key: region.keys.resyncRequests, fields: [(ResyncRequest.field, request.encoded())])
                try await Task.sleep(for: .milliseconds(20))
            }
            let replica = try ReplicaStore(path: spoke.db)
            let caughtUp = try await eventually(20, poll: 0.25) {
                try hub.drained() && replica.resyncView().ranges.watermark == hub.store.lastSeq(region: region)
            }
            let (watermark, hubSeq) = (try replica.resyncView().ranges.watermark, try hub.store.lastSeq(region: region))
            #expect(caughtUp, "watermark \(watermark), hub \(hubSeq)")
            let snapshots = try Self.snapshotEntries(conn, region)
            #expect((1...6).contains(snapshots), "\(snapshots) snapshots for 150 requests")
            #expect(spoke.log().contains("snapshot announcement refused"))
            #expect(await eventually(10) { (try? spoke.probe().get("/readyz").status) == 200 })
            try await Self.expectHealsAndSurvivesRestart(scene, hub, spoke)
        }
    }

    /// A replica that stops receiving while the hub goes on answers `/readyz` 503 `lagging`
    /// once it is `spoke.maxLagMs` behind, and ready again when it has caught up.
    @Test func aLaggingReplicaIsNotReady() async throws {
        try await Self.withConvergedSpoke("lagging", spokeFlags: ["--max-lag-ms", "1000", "--gap-stall-ms", "600000"]) { scene, hub, spoke, conn in
            let region = scene.region
            #expect(await eventually(10) { (try? spoke.probe().get("/readyz").status) == 200 })
            // Starve the replica: its group is moved past the hub's next seqs.
            let top = try hub.store.lastSeq(region: region)
            let group = ConsumerGroup.replica(try ReplicaName("a"))
            try conn.xgroupSetID(key: region.keys.updates, group: group, id: "\(top + 1_000)-0")
            _ = try await hub.store.put(id: try ContextID("unseen"), body: Array("1".utf8))
            #expect(await eventually(15) { (try? spoke.probe().get("/readyz").status) == 503 })
            let answer = try spoke.probe().get("/readyz")
            #expect(answer.text.contains("\"status\":\"lagging\""), "\(answer.text)")
            #expect(answer.text.contains("lags the hub's seq"), "\(answer.text)")
            // Back where it was: it catches up and is ready again.
            try conn.xgroupSetID(key: region.keys.updates, group: group, id: "\(top)-0")
            try await scene.expectConverges(hub, spoke, seconds: 30)
            #expect(await eventually(10) { (try? spoke.probe().get("/readyz").status) == 200 })
        }
    }

    /// A millisecond id lifted the stream's top far above the hub's seqs: retention's count cap
    /// measured the stream up to it and trimmed every entry of the hub's, which a replica that
    /// was away then had to resync. Now it measures up to the hub's last allocated seq.
    @Test func aForeignEntryFarAboveDoesNotMakeRetentionTrimTheHubsEntries() async throws {
        var resync = ResyncConfiguration()
        resync.retentionIntervalMs = 100
        try await TestScene.withHub("forged-retention", resync: resync) { scene, hub in
            for i in 0..<20 { _ = try await hub.store.put(id: try ContextID("c\(i)"), body: Array("\(i)".utf8)) }
            #expect(try await eventually(10) { try hub.drained() })
            let conn = try scene.connection()
            let key = scene.region.keys.updates
            try conn.xadd(key: key, id: "*", fields: Self.forgedPut("c1"))
            // No replica is live: only the caps (1,000,000 entries, a day) may trim.
            try await Task.sleep(for: .seconds(1))
            #expect(try conn.xlen(key: key) == 21, "retention trimmed the hub's entries")
        }
    }

    /// The snapshots the hub built for `region`: one list key each (every snapshot here has
    /// rows; the `snap` entries themselves may be trimmed from the stream by retention).
    static func snapshotEntries(_ conn: RedisConnection, _ region: Region) throws -> Int {
        try conn.keys(matching: region.keys.snapshots).count
    }
}
