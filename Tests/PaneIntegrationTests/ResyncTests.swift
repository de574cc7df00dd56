import Foundation
import GRDB
import PaneApp
import PaneCore
import PaneHub
import PaneRedis
import PaneRuntime
import PaneSpoke
import PaneStore
import PaneTestKit
import Testing

/// Issue 4: every replica converges to the hub by itself, whatever it missed.
@Suite struct ResyncTests {
    /// Hub settings that make anti-entropy and retention fast enough for a test.
    static func quickResync(antiEntropyMs: Int = 60_000) -> ResyncConfiguration {
        var config = ResyncConfiguration()
        config.antiEntropyIntervalMs = antiEntropyMs
        config.retentionIntervalMs = 500
        return config
    }

    static func body(_ i: Int) -> [UInt8] { Array(#"{"n":\#(i),"pad":"\#(String(repeating: "x", count: 40))"}"#.utf8) }

    /// Writes `count` updates over `ids` contexts, every 13th a delete, with a few writers.
    static func write(_ hub: HubStore, count: Int, ids: Int, offset: Int = 0, prefix: String = "c") async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<4 {
                group.addTask {
                    for i in stride(from: lane, to: count, by: 4) {
                        let id = try ContextID("\(prefix)\((i + offset) % ids)")
                        if (i + offset) % 13 == 0 {
                            _ = try await hub.delete(id: id)
                        } else {
                            _ = try await hub.put(id: id, body: body(i + offset))
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    static func snapshotEntries(_ conn: RedisConnection, _ region: Region) throws -> [SnapshotAnnouncement] {
        try HubResyncTests.snapEntries(in: region, conn: conn).map(\.1)
    }

    @Test func replicaTrimmedWhileAwayResyncsAndConverges() async throws {
        try await TestScene.withHub("trimmed", regions: ["trim"], resync: Self.quickResync()) { scene, hub in
            let region = scene.region
            let first = try scene.spoke("a")
            let db = first.db
            try await Self.write(hub.store, count: 500, ids: 200)
            try await scene.expectConverges(hub, first)
            first.child.stop()
            let position = try ReplicaStore(path: db).appliedRanges().watermark

            try await Self.write(hub.store, count: 10_000, ids: 3_000, offset: 500)
            #expect(try await eventually(60) { try hub.drained() })
            let conn = try scene.connection()
            let top = try hub.store.lastSeq(region: region)
            _ = try conn.xtrim(key: region.keys.updates, to: .minID("\(top - 50)-0"), approximate: false)
            let firstLeft = try HubResyncTests.firstSeq(in: region, conn: conn) ?? 0
            #expect(firstLeft > position + 1, "the stream must start past the replica's position")

            let second = try scene.spoke("a")
            try await scene.expectConverges(hub, second, seconds: 90)
            #expect(second.log().contains("gap detected") && second.log().contains("reason=trimmed"), "\(second.log().suffix(1500))")
            #expect(try await eventually(30) { try ReplicaStore(path: db).appliedRanges().watermark >= top })
        }
    }

    @Test func redisLosingItsDataIsDetectedAndEveryReplicaConverges() async throws {
        let redis = try RedisServerProcess(directory: try TestEnv.directory("flush-redis"))
        defer { redis.stop() }
        try await TestScene.withHub("flush", regions: ["flusha", "flushb"], redis: redis.endpoint, resync: Self.quickResync()) { scene, hub in
            var spokes: [SpokeProcess] = []
            for region in scene.regions {
                for replica in ["a", "b"] { spokes.append(try scene.spoke(replica, region: region)) }
            }
            try await Self.write(hub.store, count: 3_000, ids: 800)
            #expect(try await eventually(60) { try hub.drained() })
            try scene.connection().flushall()
            // Writes go on after the loss; the replicas must still end equal to the hub.
            try await Self.write(hub.store, count: 2_000, ids: 800, offset: 3_000)
            for spoke in spokes {
                try await scene.expectConverges(hub, spoke, alive: spokes, seconds: 90)
            }
            for spoke in spokes {
                let log = spoke.log()
                #expect(log.contains("is gone") || log.contains("gap detected"), "every replica should notice the loss: \(log.suffix(600))")
            }
        }
    }

    @Test func lateReplicaBootstrapsFromASnapshotWhileWritesContinue() async throws {
        try await TestScene.withHub("late", resync: Self.quickResync()) { scene, hub in
            let a = try scene.spoke("a")
            try await Self.write(hub.store, count: 50_000, ids: 20_000)
            #expect(try await eventually(120) { try hub.drained() })
            // Retention trims what replica a applied, so the stream no longer starts at seq 1.
            let conn = try scene.connection()
            #expect(try await eventually(60) { (try HubResyncTests.firstSeq(in: scene.region, conn: conn) ?? 0) > 1 })
            let writes = Task { try await Self.write(hub.store, count: 5_000, ids: 20_000, offset: 50_000) }
            let b = try scene.spoke("b")
            try await writes.value
            #expect(try await eventually(60) { try hub.drained() })
            try await scene.expectConverges(hub, b, alive: [a, b], seconds: 120)
            #expect(b.log().contains("applying a snapshot"))
            #expect(b.log().contains("reason=bootstrap"))
            try await scene.expectConverges(hub, a, alive: [a, b])
        }
    }

    @Test func tamperedDatabaseIsRepairedByAntiEntropyResendingOnlyItsBuckets() async throws {
        try await TestScene.withHub("tamper", resync: Self.quickResync(antiEntropyMs: 300)) { scene, hub in
            let region = scene.region
            let spoke = try scene.spoke("a", extra: ["--digest-interval-ms", "300"])
            let db = spoke.db
            try await Self.write(hub.store, count: 4_000, ids: 3_000)
            try await scene.expectConverges(hub, spoke)
            let conn = try scene.connection()
            // Healthy: the hub's verdict says the digests agree, and no digest snapshot is sent.
            #expect(try await eventually(30) {
                let verdict = StatusJSON.decode(DigestVerdict.self, try conn.hget(key: region.keys.replicas, field: "a:verdict"))
                return verdict?.differing.isEmpty == true
            })
            #expect(try Self.snapshotEntries(conn, region).filter { $0.reason.contains("digest") }.isEmpty)

            // Two live contexts in different buckets.
            let live = try hub.store.state(of: region).filter { !$0.value.deleted }.keys.map(\.value).sorted()
            let tamperedID = try #require(live.first)
            let deletedID = try #require(live.first { ContextDigest.bucket(of: $0) != ContextDigest.bucket(of: tamperedID) })
            try tamper(db, "UPDATE contexts SET version = version + 7 WHERE id = ?", tamperedID)
            try tamper(db, "DELETE FROM contexts WHERE id = ?", deletedID)
            let buckets = Set([ContextDigest.bucket(of: tamperedID), ContextDigest.bucket(of: deletedID)])
            let expectedRows = try hub.store.state(of: region).keys.filter { buckets.contains(ContextDigest.bucket(of: $0.value)) }.count

            try await scene.expectConverges(hub, spoke, seconds: 60)
            let digestSnapshots = try Self.snapshotEntries(conn, region).filter { $0.reason.contains("digest") }
            #expect(digestSnapshots.count >= 1)
            if let sent = digestSnapshots.first {
                #expect(Set(sent.buckets ?? []) == buckets)
                #expect(sent.rows == expectedRows, "only the contexts of the differing buckets are sent")
            }
        }
    }

    @Test func killedInTheMiddleOfAResyncFinishesOnRestartWithoutGoingBack() async throws {
        try await TestScene.withHub("midresync", regions: ["midrs"], resync: Self.quickResync()) { scene, hub in
            let slow = ["PANE_FAULT_SNAPSHOT_CHUNK_DELAY_MS": "300"]
            let first = try scene.spoke("a", environment: slow)
            let db = first.db
            try await Self.write(hub.store, count: 12_000, ids: 10_000)
            try await scene.expectConverges(hub, first)
            // Tamper so that the resync has something to repair, then force a full one.
            let replica = try ReplicaStore(path: db)
            try tamper(db, "DELETE FROM contexts WHERE id = ?", "c77")
            let admin = ResyncAdmin(region: scene.region, redis: scene.redis)
            let request = try await BlockingThread.value(name: "test") { try admin.request(replica: "a", contexts: []) }
            #expect(try await eventually(60, poll: 0.02) {
                let view = try replica.resyncView()
                return (view.inFlight?.chunksDone ?? 0) >= 1 && (view.inFlight?.chunksDone ?? 0) < (view.inFlight?.chunks ?? 0)
            })
            let before = try replica.state()
            first.child.crash()
            try await Self.write(hub.store, count: 500, ids: 10_000, offset: 12_000)

            let second = try scene.spoke("a")
            try await scene.expectConverges(hub, second, seconds: 90)
            #expect(try await eventually(30) { try replica.resyncView().resyncsDone.contains(request) })
            #expect(second.log().contains("resuming a snapshot"))
            let after = try replica.state()
            let regressed = before.filter { id, state in (after[id]?.version ?? 0) < state.version }
            #expect(regressed.isEmpty, "versions went back: \(regressed.prefix(5))")
        }
    }

    @Test func adminResyncOnAHealthyReplicaChangesNothing() async throws {
        try await TestScene.withHub("adminresync", regions: ["adrs"], resync: Self.quickResync()) { scene, hub in
            let (region, redis) = (scene.region, scene.redis.description)
            let spoke = try scene.spoke("a")
            try await Self.write(hub.store, count: 2_000, ids: 700)
            try await scene.expectConverges(hub, spoke)
            let before = try rows(spoke.db)
            let run = try await PaneCommand.run(
                ["admin", "resync", "--redis", redis, "--region", region.name, "--replica", "a", "--timeout-seconds", "60"])
            #expect(run.status == 0, "\(run.output)")
            #expect(run.output.contains("resync done"))
            #expect(try rows(spoke.db) == before, "a resync of a healthy replica must not change a row")
            // Bad arguments are named.
            let bad = try await PaneCommand.run(["admin", "resync", "--redis", redis, "--region", region.name, "--replica", "nobody"])
            #expect(bad.status == 2, "a replica that does not exist is bad input")
            #expect(bad.output.contains("replica 'nobody'"))
            let badContext = try await PaneCommand.run(["admin", "resync", "--redis", redis, "--region", region.name, "--context", "has space"])
            #expect(badContext.status == 2)
            #expect(badContext.output.contains("has space"))
        }
    }
}

/// Changes a replica's SQLite file behind the worker's back, as damage or a bad restore would.
func tamper(_ path: String, _ sql: String, _ id: String) throws {
    let queue = try DatabaseQueue(path: path)
    try queue.write { db in
        try db.execute(sql: sql, arguments: [id])
        #expect(db.changesCount == 1, "tampering with \(id) changed nothing")
    }
}

/// Every row of a replica, body and times included.
func rows(_ path: String) throws -> [String] {
    let queue = try DatabaseQueue(path: path)
    return try queue.read { db in
        try Row.fetchAll(db, sql: "SELECT id, version, deleted, hex(body) AS body, hub_ts, applied_ts, seq FROM contexts ORDER BY id").map { "\($0)" }
    }
}
