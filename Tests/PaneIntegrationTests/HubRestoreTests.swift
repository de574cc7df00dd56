import Foundation
import GRDB
import PaneCore
import PaneRedis
import PaneStore
import PaneTestKit
import Testing

/// A hub restored from a backup starts a new history, and every replica ends equal to it:
/// versions, tombstones and bodies, even where the replica was ahead of the backup.
@Suite struct HubRestoreTests {
    /// Every row of a replica file, bodies included: id → (version, deleted, body).
    static func rows(_ path: String) throws -> [String: String] {
        try DatabaseQueue(path: path).read { db in
            var rows: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, version, deleted, body FROM contexts") {
                let body: Data = row["body"] ?? Data()
                rows[row["id"]] = "v\(row["version"] as Int64) d\(row["deleted"] as Bool) \(String(decoding: body, as: UTF8.self))"
            }
            return rows
        }
    }

    /// What the hub placed in `region`, in the same form (the hub holds every placed body here:
    /// every write targets every region).
    static func hubRows(_ store: HubStore, region: Region) async throws -> [String: String] {
        var rows: [String: String] = [:]
        for (id, state) in try store.state(of: region) {
            let context = try await store.get(id: id)
            let body = state.deleted ? "" : String(decoding: context?.body ?? [], as: UTF8.self)
            rows[id.value] = "v\(state.version) d\(state.deleted) \(body)"
        }
        return rows
    }

    @Test func restoredHubStartsANewHistoryAndEveryReplicaFollows() async throws {
        try await TestScene.run("restore") { scene in
            let region = scene.region
            let redis = scene.redis.description
            let db = scene.path("hub.sqlite")
            let backup = scene.path("backup.sqlite")
            let a = try scene.spoke("a")
            var b = try scene.spoke("b")
            let before: (hubID: String, maxVersion: Int64, lastSeq: UInt64) = try await scene.withHub { hub in
                for i in 0..<300 {
                    _ = try await hub.store.put(id: try ContextID("c-\(i)"), body: Array("{\"gen\":0,\"i\":\(i)}".utf8))
                }
                #expect(try await scene.converges(hub, a).converged)
                let made = try await PaneCommand.run(["admin", "backup-hub", "--db", db, "--to", backup])
                #expect(made.status == 0, "\(made.output)")
                #expect(made.output.contains("300 contexts"), "\(made.output)")
                let again = try await PaneCommand.run(["admin", "backup-hub", "--db", db, "--to", backup])
                #expect(again.status == 2 && again.output.contains("already exists"), "\(again.output)")

                // The history the backup does not have: 5,000 updates of old and new contexts,
                // deletes among them, all applied by the replicas.
                for i in 0..<5_000 {
                    let id = try ContextID("c-\(i % 700)")
                    if i % 97 == 0 {
                        _ = try await hub.store.delete(id: id)
                    } else {
                        _ = try await hub.store.put(id: id, body: Array("{\"gen\":1,\"i\":\(i)}".utf8))
                    }
                }
                #expect(try await scene.converges(hub, a).converged)
                #expect(try await scene.converges(hub, b).converged)
                let maxVersion = try hub.store.state(of: region).values.map(\.version).max() ?? 0
                return (hub.store.hubID, maxVersion, try hub.store.lastSeq(region: region))
            }
            // One replica is down during the restore; it learns of the new history when it starts.
            #expect(b.child.stop() == 0)

            let refused = try await PaneCommand.run(["admin", "restore-hub", "--from", backup, "--db", db, "--redis", redis])
            #expect(refused.status == 2 && refused.output.contains("--force"), "\(refused.output)")
            // The lost hub had announced a seq beyond its stream's top (it died between the HSET and
            // the XADDs): the restored hub continues above it, and so does the stream's last id.
            let conn = try scene.connection()
            let announced = before.lastSeq + 5
            _ = try conn.hset(key: region.keys.hub, field: RegionKeys.HubField.seq, value: String(announced))
            let restored = try await PaneCommand.run(["admin", "restore-hub", "--from", backup, "--db", db, "--redis", redis, "--force"])
            #expect(restored.status == 0, "\(restored.output)")
            #expect(restored.output.contains("deleted"), "\(restored.output)")
            let top = try conn.xinfoStream(key: region.keys.updates)?["last-generated-id"]?.string
            #expect(top == "\(announced)-0")
            #expect(try conn.hget(key: region.keys.hub, field: RegionKeys.HubField.seq) == String(announced))

            try await scene.withHub { hub in
                #expect(hub.store.hubID != before.hubID, "a new history")
                let state = try hub.store.state(of: region)
                #expect(state.count == 300)
                #expect(state.values.allSatisfy { $0.version > before.maxVersion }, "versions restart above every version seen")
                #expect(try hub.store.lastSeq(region: region) >= announced, "seqs continue above the stream's last id and the hub's seq")
                #expect(before.lastSeq > 5_000)
                b = try scene.spoke("b")
                for spoke in [a, b] {
                    let converged = try await scene.converges(hub, spoke)
                    #expect(converged.converged, "\(converged) \(spoke.log().suffix(1500))")
                    let expected = try await Self.hubRows(hub.store, region: region)
                    #expect(try await eventually(30) { try Self.rows(spoke.db) == expected }, "no replica keeps a body the hub does not have")
                }
                // The new history goes on as usual.
                _ = try await hub.store.put(id: try ContextID("c-1"), body: Array("{\"gen\":2}".utf8))
                _ = try await hub.store.put(id: try ContextID("after-restore"), body: Array("{\"gen\":2}".utf8))
                for spoke in [a, b] {
                    #expect(try await scene.converges(hub, spoke).converged)
                    let expected = try await Self.hubRows(hub.store, region: region)
                    #expect(try await eventually(30) { try Self.rows(spoke.db) == expected })
                    #expect(spoke.log().contains("new-history"), "\(spoke.log().suffix(1500))")
                }
            }
        }
    }

    /// A restore that cannot reach Redis changes nothing: the old hub file is put back.
    @Test func aRestoreThatCannotReachRedisLeavesTheOldFile() async throws {
        let dir = try TestEnv.directory("restore-no-redis")
        let db = "\(dir)/hub.sqlite"
        let store = try HubStore(path: db, regions: [try Region("restore-no-redis")])
        _ = try await store.put(id: try ContextID("x"), body: Array("1".utf8))
        let hubID = store.hubID
        let made = try await PaneCommand.run(["admin", "backup-hub", "--db", db, "--to", "\(dir)/backup.sqlite"])
        #expect(made.status == 0, "\(made.output)")
        let run = try await PaneCommand.run(
            ["admin", "restore-hub", "--from", "\(dir)/backup.sqlite", "--db", db, "--redis", "redis://127.0.0.1:1", "--force"])
        #expect(run.status == 1 && run.output.contains("cannot reach Redis"), "\(run.output)")
        #expect(try HubBackup.contents(of: db).hubID == hubID, "the old file is back in place")
        let left = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains("replaced") }
        #expect(left.isEmpty, "\(left)")
    }
}
