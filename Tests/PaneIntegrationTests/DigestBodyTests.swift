import Foundation
import GRDB
import PaneCore
import PaneRedis
import PaneStore
import PaneTestKit
import Testing

/// The anti-entropy digest (format 2) covers bodies: a replica holding another body under the
/// same version is found and repaired. A format-1 report (a spoke from before) is compared in
/// format 1, so it is not taken for divergence.
@Suite struct DigestBodyTests {
    static func body(_ path: String, _ id: String) throws -> String? {
        try DatabaseQueue(path: path).read { db in
            (try Data.fetchOne(db, sql: "SELECT body FROM contexts WHERE id = ?", arguments: [id])).map { String(decoding: $0, as: UTF8.self) }
        }
    }

    static func verdict(_ conn: RedisConnection, _ region: Region, _ replica: String) throws -> DigestVerdict? {
        StatusJSON.decode(DigestVerdict.self, try conn.hget(key: region.keys.replicas, field: "\(replica):verdict"))
    }

    @Test func aDifferentBodyUnderTheSameVersionIsRepaired() async throws {
        try await TestScene.withHub("digest-body", resync: ResyncTests.quickResync(antiEntropyMs: 300)) { scene, hub in
            let region = scene.region
            let spoke = try scene.spoke("a", extra: ["--digest-interval-ms", "300"])
            for i in 0..<200 { _ = try await hub.store.put(id: try ContextID("b-\(i)"), body: Array("{\"i\":\(i)}".utf8)) }
            try await scene.expectConverges(hub, spoke)
            let conn = try scene.connection()
            // The hub advertises format 2, so the spoke reports in it, with its highest version;
            // the hub finds it equal to its own.
            let report = { StatusJSON.decode(DigestReport.self, try conn.hget(key: region.keys.replicas, field: "a:digest")) }
            #expect(try await eventually(30) { try report().map { $0.format == 2 && $0.maxVersion == 1 && $0.position >= 200 } == true })
            #expect(try await eventually(30) {
                try Self.verdict(conn, region, "a").map { $0.position >= 200 && $0.differing.isEmpty } == true
            })

            // Same id, same version, another body: invisible to (id, version, tombstone).
            try tamper(spoke.db, "UPDATE contexts SET body = CAST('{\"i\":\"forged\"}' AS BLOB) WHERE id = ?", "b-17")
            #expect(try Self.body(spoke.db, "b-17") == #"{"i":"forged"}"#)
            #expect(try await eventually(60) { try Self.body(spoke.db, "b-17") == #"{"i":17}"# }, "\(spoke.log().suffix(1500))")
            let sent = try ResyncTests.snapshotEntries(conn, region).filter { $0.reason.contains("digest") }
            #expect(sent.contains { $0.buckets == [ContextDigest.bucket(of: "b-17")] }, "\(sent)")
            try await scene.expectConverges(hub, spoke)
        }
    }

    @Test func aFormatOneReportIsComparedInFormatOne() async throws {
        try await TestScene.withHub("digest-format", resync: ResyncTests.quickResync(antiEntropyMs: 300)) { scene, hub in
            let region = scene.region
            for i in 0..<50 { _ = try await hub.store.put(id: try ContextID("f-\(i)"), body: Array("{\"i\":\(i)}".utf8)) }
            let conn = try scene.connection()
            // What a spoke from before the body hash reports: format 1, no `format` field.
            let (old, _, seq) = try hub.store.digest(region: region, format: 1)
            let (current, _, _) = try hub.store.digest(region: region)
            #expect(old != current, "the formats differ, so reading one as the other would be divergence")
            let report = DigestReport(replica: "old", position: seq, timeMs: WallClock.nowMs(), digest: old.encoded)
            #expect(!StatusJSON.encode(report).contains("format"), "an old report has no format field")
            _ = try conn.hset(key: region.keys.replicas, field: "old:digest", value: StatusJSON.encode(report))
            #expect(try await eventually(20) { try Self.verdict(conn, region, "old") != nil })
            #expect(try Self.verdict(conn, region, "old")?.differing == [])

            // A format this hub does not know is ignored, not compared.
            var future = DigestReport(replica: "future", position: seq, timeMs: WallClock.nowMs(), digest: current.encoded)
            future.format = 3
            _ = try conn.hset(key: region.keys.replicas, field: "future:digest", value: StatusJSON.encode(future))
            try await Task.sleep(for: .seconds(2))
            #expect(try Self.verdict(conn, region, "future") == nil)
        }
    }

    /// A spoke reports format 1 until its hub advertises format 2 in `pane:{R}:hub`, so spokes
    /// can be upgraded before the hub.
    @Test func aSpokeReportsFormatTwoOnlyOnceTheHubReadsIt() async throws {
        try await TestScene.run("digest-advert") { scene in
            let region = scene.region
            let conn = try scene.connection()
            _ = try conn.hset(key: region.keys.hub, field: RegionKeys.HubField.seq, value: "0")
            let spoke = try scene.spoke("a", extra: ["--digest-interval-ms", "300"])
            let report = { StatusJSON.decode(DigestReport.self, try conn.hget(key: region.keys.replicas, field: "a:digest")) }
            #expect(try await eventually(20) { try report() != nil }, "\(spoke.log().suffix(1000))")
            #expect(try report()?.format == nil, "an old hub gets format 1")
            _ = try conn.hset(key: region.keys.hub, field: RegionKeys.HubField.digestFormat, value: "2")
            #expect(try await eventually(20) { try report()?.format == 2 }, "\(spoke.log().suffix(1000))")
        }
    }
}
