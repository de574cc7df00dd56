import Foundation
import PaneCore
import PaneHub
import PaneRedis
import PaneRuntime
import PaneStore
import PaneTestKit
import Testing

/// The hub's side of resync against a real Redis, with no spoke: the tests play the replica
/// by writing requests, digests and heartbeats into Redis themselves.
@Suite struct HubResyncTests {
    /// A malformed request is acked and ignored; a full request gets one snapshot whose chunks
    /// hold exactly the hub's placements of the region, announced with the right seq.
    @Test func aRequestGetsASnapshotOfExactlyTheRegionsPlacements() async throws {
        var config = ResyncConfiguration()
        config.chunkRows = 50
        try await TestScene.withHub("hub-snapshot", regions: ["snap", "snap2"], resync: config) { scene, hub in
            let (r1, r2) = (scene.regions[0], scene.regions[1])
            let store = hub.store
            for i in 0..<300 {
                let id = try ContextID("tenant/\(i)")
                let body = Array("{\"n\":\(i),\"pad\":\"\(String(repeating: "x", count: i % 40))\"}".utf8)
                if i % 7 == 0 {
                    _ = try await store.put(id: id, body: body, regions: [r2])  // not placed in r1
                } else {
                    _ = try await store.put(id: id, body: body)
                }
                if i % 5 == 0 { _ = try await store.delete(id: id) }
                if i % 11 == 0 { _ = try await store.put(id: id, body: Array("{\"v\":2}".utf8)) }
            }
            // A later write that skips r1: r1 keeps version 1, whose body the hub no longer holds.
            let skipped = try ContextID("skipped/one")
            _ = try await store.put(id: skipped, body: Array("{\"v\":1}".utf8))
            _ = try await store.put(id: skipped, body: Array("{\"v\":2}".utf8), regions: [r2])
            #expect(try await eventually(20) { try hub.drained() })
            let lastBefore = try store.lastSeq(region: r1)

            // The resync worker is running: it reads these as they come.
            let conn = try scene.connection()
            _ = try conn.xadd(key: r1.keys.resyncRequests, fields: [(ResyncRequest.field, Array("not json".utf8))])
            let request = ResyncRequest(requestID: "req-full", replica: "a", reason: "bootstrap", buckets: nil)
            _ = try conn.xadd(key: r1.keys.resyncRequests, fields: [(ResyncRequest.field, request.encoded())])

            let found = try await HubResyncTests.announcement(in: r1, requestID: "req-full", conn: conn)
            let (entrySeq, announcement) = try #require(found)
            #expect(announcement.seq == lastBefore)
            #expect(entrySeq == lastBefore + 1)
            #expect(announcement.replicas == ["a"])
            #expect(announcement.buckets == nil)
            #expect(announcement.reason == "bootstrap")
            #expect(announcement.listKey == r1.keys.snapshot(epoch: announcement.epoch))

            let rows = try HubResyncTests.rows(of: announcement, conn: conn)
            let expected = try store.state(of: r1)
            #expect(rows.count == expected.count)
            #expect(announcement.rows == expected.count)
            #expect(announcement.chunks == (expected.count + 49) / 50)
            #expect(Dictionary(uniqueKeysWithValues: rows.map { ($0.id, VersionState(version: $0.version, deleted: $0.deleted)) }) == expected)
            #expect(rows.map(\.id.value) == rows.map(\.id.value).sorted())
            for row in rows {
                let current = try #require(try await store.get(id: row.id))
                if row.id == skipped {
                    #expect(row.bodyMissing && row.body.isEmpty && row.version == 1)
                } else if row.deleted {
                    #expect(row.body.isEmpty && !row.bodyMissing)
                } else {
                    #expect(!row.bodyMissing)
                    #expect(row.body == current.body)
                    #expect(row.version == current.version)
                    #expect(row.hubTimeMs == current.updatedAtMs)
                }
                #expect(row.seq >= 1 && row.seq <= lastBefore)
            }
            #expect(!rows.contains { $0.id.value == "tenant/7" })  // placed in r2 only
            #expect(try conn.ttl(key: announcement.listKey) > 0)
            // Both requests, the malformed one too, are acked.
            #expect(
                try await eventually(5) {
                    try conn.xpendingSummary(key: r1.keys.resyncRequests, group: .hub).count == 0
                })
            #expect(try HubResyncTests.snapEntries(in: r1, conn: conn).count == 1)
        }
    }

    /// Two bucket-limited requests read in one round are served by one snapshot of the union
    /// of their buckets, holding every placement of those buckets and nothing else.
    @Test func bucketRequestsAreCoalescedAndLimited() async throws {
        try await TestScene.withHub("hub-buckets", regions: ["buckets"]) { scene, hub in
            let region = scene.region
            for i in 0..<2_000 { _ = try await hub.store.put(id: try ContextID("ctx/\(i)"), body: Array("{}".utf8)) }
            #expect(try await eventually(20) { try hub.drained() })
            let state = try hub.store.state(of: region)
            let someBuckets = Array(Set(state.keys.prefix(4).map { ContextDigest.bucket(of: $0.value) })).sorted()
            let first = Array(someBuckets.prefix(2))
            let second = Array(someBuckets.dropFirst(1))

            let conn = try scene.connection()
            // Both requests in one transaction: the resync worker, already waiting, reads them in one round.
            _ = try conn.transaction { queue in
                for (name, buckets, replica) in [("req-b1", first, "a"), ("req-b2", second, "b")] {
                    let request = ResyncRequest(requestID: name, replica: replica, reason: "seq-gap", buckets: buckets)
                    queue.xadd(key: region.keys.resyncRequests, fields: [(ResyncRequest.field, request.encoded())])
                }
            }

            let (_, announcement) = try #require(try await HubResyncTests.announcement(in: region, requestID: "req-b1", conn: conn))
            #expect(announcement.requestIDs.sorted() == ["req-b1", "req-b2"])
            #expect(announcement.buckets == someBuckets)
            #expect(announcement.replicas == ["a", "b"])
            let rows = try HubResyncTests.rows(of: announcement, conn: conn)
            let expected = state.filter { someBuckets.contains(ContextDigest.bucket(of: $0.key.value)) }
            #expect(!expected.isEmpty)
            #expect(Dictionary(uniqueKeysWithValues: rows.map { ($0.id, VersionState(version: $0.version, deleted: $0.deleted)) }) == expected)
            #expect(try HubResyncTests.snapEntries(in: region, conn: conn).count == 1)
        }
    }

    /// A digest from a tampered copy of the hub's state gets a verdict naming exactly the
    /// tampered buckets, and a snapshot of only those buckets for that replica.
    @Test func antiEntropyResendsExactlyTheDifferingBuckets() async throws {
        var config = ResyncConfiguration()
        config.antiEntropyIntervalMs = 300
        try await TestScene.withHub("hub-digest", regions: ["digest"], resync: config) { scene, hub in
            let region = scene.region
            for i in 0..<500 { _ = try await hub.store.put(id: try ContextID("d/\(i)"), body: Array("{}".utf8)) }
            _ = try await hub.store.delete(id: try ContextID("d/3"))
            #expect(try await eventually(20) { try hub.drained() })
            var state = try hub.store.state(of: region)
            let ids = state.keys.sorted { $0.value < $1.value }
            // Pick three ids in three different buckets: one with another version, one missing, one
            // with the tombstone flag flipped; plus an id the hub does not have.
            var tampered: [ContextID] = []
            var buckets: Set<Int> = []
            for id in ids where tampered.count < 3 && !buckets.contains(ContextDigest.bucket(of: id.value)) {
                tampered.append(id)
                buckets.insert(ContextDigest.bucket(of: id.value))
            }
            let (bumped, flipped) = (try #require(state[tampered[0]]), try #require(state[tampered[2]]))
            state[tampered[0]] = VersionState(version: bumped.version + 1, deleted: bumped.deleted)
            state[tampered[1]] = nil
            state[tampered[2]] = VersionState(version: flipped.version, deleted: !flipped.deleted)
            let stranger = try ContextID("zz/not-on-the-hub")
            state[stranger] = VersionState(version: 1, deleted: false)
            buckets.insert(ContextDigest.bucket(of: stranger.value))
            var digest = ContextDigest()
            for (id, value) in state { digest.add(id: id.value, version: value.version, deleted: value.deleted) }
            let report = DigestReport(replica: "a", position: try hub.store.lastSeq(region: region), timeMs: WallClock.nowMs(), digest: digest.encoded)

            let conn = try scene.connection()
            _ = try conn.hset(key: region.keys.replicas, field: "a:digest", value: StatusJSON.encode(report))

            var verdict: DigestVerdict?
            _ = try await eventually(15) {
                let text = try conn.hget(key: region.keys.replicas, field: "a:verdict")
                verdict = StatusJSON.decode(DigestVerdict.self, text)
                return verdict != nil
            }
            let found = try #require(verdict)
            #expect(found.differing == buckets.sorted())
            #expect(found.inFlux == 0)
            #expect(found.position == report.position)
            let requestID = try #require(found.resyncRequestID)
            let (_, announcement) = try #require(try await HubResyncTests.announcement(in: region, requestID: requestID, conn: conn))
            #expect(announcement.buckets == buckets.sorted())
            #expect(announcement.replicas == ["a"])
            #expect(announcement.reason == "digest")
            let rows = try HubResyncTests.rows(of: announcement, conn: conn)
            let hubState = try hub.store.state(of: region)
            let expected = hubState.filter { buckets.contains(ContextDigest.bucket(of: $0.key.value)) }
            #expect(Dictionary(uniqueKeysWithValues: rows.map { ($0.id, VersionState(version: $0.version, deleted: $0.deleted)) }) == expected)

            // The same report is not compared twice; a matching one gets an empty verdict.
            try await Task.sleep(for: .milliseconds(900))
            #expect(try HubResyncTests.snapEntries(in: region, conn: conn).count == 1)
            var good = ContextDigest()
            for (id, value) in hubState { good.add(id: id.value, version: value.version, deleted: value.deleted) }
            let fresh = DigestReport(replica: "a", position: try hub.store.lastSeq(region: region), timeMs: WallClock.nowMs() + 1, digest: good.encoded)
            _ = try conn.hset(key: region.keys.replicas, field: "a:digest", value: StatusJSON.encode(fresh))
            #expect(
                try await eventually(10) {
                    let text = try conn.hget(key: region.keys.replicas, field: "a:verdict")
                    guard let v = StatusJSON.decode(DigestVerdict.self, text) else { return false }
                    return v.position == fresh.position && v.differing.isEmpty && v.resyncRequestID == nil && v.timeMs > found.timeMs
                })
            #expect(try HubResyncTests.snapEntries(in: region, conn: conn).count == 1)
        }
    }

    /// A live replica at watermark W holds the stream at MINID W+1 and no further; without
    /// heartbeats only the caps trim; past the entry cap the stream is trimmed anyway.
    @Test func retentionTrimsBehindLiveReplicasUpToTheCaps() async throws {
        try await TestScene.run("hub-retention", regions: ["ret-held", "ret-cap", "ret-none"]) { scene in
            let (held, capped, unwatched) = (scene.regions[0], scene.regions[1], scene.regions[2])
            // The heartbeats are there before the hubs start, so every retention round sees them.
            let conn = try scene.connection()
            for region in [held, capped] {
                let beat = ReplicaHeartbeat(
                    replica: "a", consumer: "test", watermark: 40, highest: 40, timeMs: WallClock.nowMs(), resync: nil, resyncsDone: [])
                _ = try conn.hset(key: region.keys.replicas, field: "a", value: StatusJSON.encode(beat))
            }
            // A dead replica (old heartbeat) holds nothing back.
            let dead = ReplicaHeartbeat(replica: "old", consumer: "test", watermark: 2, highest: 2, timeMs: 1, resync: nil, resyncsDone: [])
            _ = try conn.hset(key: held.keys.replicas, field: "old", value: StatusJSON.encode(dead))

            // Two hubs, one per entry cap: 1,000 for `held` and `unwatched`, 30 for `capped`.
            var config = ResyncConfiguration()
            config.retentionIntervalMs = 100
            config.retentionMaxEntries = 1_000
            var cappedConfig = config
            cappedConfig.retentionMaxEntries = 30
            let logs = LogCapture()
            let wide = try InProcessHub(
                regions: [held, unwatched], dir: scene.directory, database: scene.path("hub-wide.sqlite"), resync: config, logger: logs.logger)
            let narrow = try InProcessHub(
                regions: [capped], dir: scene.directory, database: scene.path("hub-capped.sqlite"), resync: cappedConfig, logger: logs.logger)
            try await wide.run { wide in
                try await narrow.run { narrow in
                    for i in 0..<100 {
                        for hub in [wide, narrow] { _ = try await hub.store.put(id: try ContextID("r/\(i)"), body: Array("{}".utf8)) }
                    }
                    #expect(try await eventually(20) { try wide.drained() && narrow.drained() })

                    func first(_ region: Region) throws -> UInt64? { try HubResyncTests.firstSeq(in: region, conn: conn) }
                    #expect(try await eventually(10) { try first(held) == 41 })
                    #expect(try await eventually(10) { try first(capped) == 71 })
                    try await Task.sleep(for: .milliseconds(600))
                    #expect(try first(held) == 41)
                    #expect(try conn.xlen(key: held.keys.updates) == 60)
                    #expect(try first(capped) == 71)
                    #expect(try first(unwatched) == 1)
                    #expect(try conn.xlen(key: unwatched.keys.updates) == 100)
                    #expect(logs.messages.contains { $0.level == .warning && $0.text.contains("will resync") && $0.metadata.contains("replicas=a") })

                    // The replica moves on: the stream follows it.
                    let beat = ReplicaHeartbeat(
                        replica: "a", consumer: "test", watermark: 90, highest: 95, timeMs: WallClock.nowMs(), resync: nil, resyncsDone: [])
                    _ = try conn.hset(key: held.keys.replicas, field: "a", value: StatusJSON.encode(beat))
                    #expect(try await eventually(10) { try first(held) == 91 })
                }
            }
        }
    }

    /// A region stream that vanishes (FLUSHALL, a Redis restart without persistence) is
    /// reported once, and the request stream's group is made again so requests still work.
    @Test func lostStreamDataIsReportedAndRequestsStillWork() async throws {
        var config = ResyncConfiguration()
        config.retentionIntervalMs = 100
        let logs = LogCapture()
        try await TestScene.withHub("hub-lost", regions: ["lost"], resync: config, logger: logs.logger) { scene, hub in
            let region = scene.region
            for i in 0..<10 { _ = try await hub.store.put(id: try ContextID("l/\(i)"), body: Array("{}".utf8)) }
            #expect(try await eventually(20) { try hub.drained() })
            let conn = try scene.connection()
            #expect(try await eventually(5) { try conn.exists([region.keys.resyncRequests]) == 1 })

            _ = try conn.del([region.keys.updates, region.keys.resyncRequests])
            #expect(await eventually(5) { logs.messages.contains { $0.level == .error && $0.text.hasPrefix("region stream lost data") } })
            try await Task.sleep(for: .milliseconds(500))
            #expect(logs.messages.filter { $0.text.hasPrefix("region stream lost data") }.count == 1)

            let request = ResyncRequest(requestID: "after-loss", replica: nil, reason: "lost", buckets: nil)
            _ = try conn.xadd(key: region.keys.resyncRequests, fields: [(ResyncRequest.field, request.encoded())])
            let (_, announcement) = try #require(try await HubResyncTests.announcement(in: region, requestID: "after-loss", conn: conn))
            #expect(announcement.replicas == nil)
            #expect(announcement.rows == 10)
        }
    }

    // MARK: Helpers

    /// Every `snap` entry of the region stream, with its seq.
    static func snapEntries(in region: Region, conn: RedisConnection) throws -> [(UInt64, SnapshotAnnouncement)] {
        try conn.xrange(key: region.keys.updates).compactMap { entry in
            guard let fields = entry.fields,
                let update = try? StreamEntryCodec.decode(entryID: entry.id, fields: fields, rules: BodyRules()), update.op == .snap
            else { return nil }
            return (update.seq, try SnapshotAnnouncement.decode(update.body))
        }
    }

    /// The seq of the stream's first entry.
    static func firstSeq(in region: Region, conn: RedisConnection) throws -> UInt64? {
        try conn.xrange(key: region.keys.updates, count: 1).first.flatMap { StreamEntryCodec.seq(fromEntryID: $0.id) }
    }

    /// Waits for the announcement answering `requestID`.
    static func announcement(in region: Region, requestID: String, conn: RedisConnection) async throws -> (UInt64, SnapshotAnnouncement)? {
        var found: (UInt64, SnapshotAnnouncement)?
        _ = try await eventually(15) {
            found = try snapEntries(in: region, conn: conn).first { $0.1.requestIDs.contains(requestID) }
            return found != nil
        }
        return found
    }

    /// The decoded rows of a snapshot, in chunk order.
    static func rows(of announcement: SnapshotAnnouncement, conn: RedisConnection) throws -> [SnapshotRow] {
        let chunks = try conn.lrange(key: announcement.listKey)
        #expect(chunks.count == announcement.chunks)
        return try chunks.flatMap { try SnapshotChunkCodec.decode($0) }
    }
}
