import Foundation
import PaneApp
import PaneCore
import PaneHub
import PaneRedis
import PaneTestKit
import Testing

/// Issue 11, item 1: `pane admin status` says how each replica is from its heartbeat, not from
/// the time since the last delivery.
@Suite struct StatusTests {
    static func status(_ region: Region, redis: String, extra: [String] = []) async throws -> StatusReport.Replica? {
        let run = try await PaneCommand.run(["admin", "status", "--regions", region.name, "--redis", redis, "--json"] + extra)
        #expect(run.status == 0, "\(run.output)")
        do {
            let report = try JSONDecoder().decode(StatusReport.self, from: Data(run.output.utf8))
            return report.regions.first?.replicas.first
        } catch {
            throw Unreadable(output: run.output, error: "\(error)")
        }
    }

    /// `pane admin status --json` printed something that is not a report.
    struct Unreadable: Error {
        let output: String
        let error: String
    }

    /// `eventually` for a condition that runs `pane` (async).
    static func within(_ seconds: Double, _ condition: () async throws -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? await condition()) == true { return true }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    /// A live, caught-up replica is `ok` with no lag on a quiet system; once its worker stops it
    /// turns `stale`, then `down`; the table shows the state and human-readable figures.
    @Test func aReplicaIsOkThenStaleThenDown() async throws {
        try await TestScene.withHub("status-live") { scene, hub in
            let spoke = try scene.spoke("a")
            for i in 0..<20 { _ = try await hub.store.put(id: try ContextID("s\(i)"), body: Array("{}".utf8)) }
            try await scene.expectConverges(hub, spoke)
            let redis = scene.redis.description
            // Each look runs `pane admin status`; the last answer (or error) is the failure's message.
            let seen = Locked<String>("nothing yet")
            func looks(_ extra: [String] = [], _ wanted: @escaping @Sendable (StatusReport.Replica) -> Bool) async -> Bool {
                await Self.within(30) {
                    do {
                        let replica = try await Self.status(scene.region, redis: redis, extra: extra)
                        seen.value = replica.map { "\($0)" } ?? "no replica"
                        return replica.map(wanted) ?? false
                    } catch {
                        seen.value = "\(error)"
                        throw error
                    }
                }
            }
            // The heartbeat after the last apply carries the final watermark: ok, nothing behind.
            #expect(await looks { $0.lagSeqs == 0 && $0.state == .ok && $0.lagMs == 0 && $0.position == 20 }, "\(seen.value)")
            let table = try await PaneCommand.run(["admin", "status", "--regions", scene.region.name, "--redis", redis])
            #expect(table.output.contains("STATE") && table.output.contains(" ok ") && table.output.contains("HUB SEQ"), "\(table.output)")
            #expect(!table.output.contains("LAST CONTACT"))
            #expect(table.output.hasPrefix("redis: maxmemory-policy noeviction, maxmemory no limit, appendonly no"), "\(table.output)")

            #expect(spoke.child.stop() == 0)
            #expect(await looks(["--stale-after-ms", "300"]) { $0.state == .stale }, "\(seen.value)")
            #expect(await looks(["--down-after-ms", "500"]) { $0.state == .down }, "\(seen.value)")
        }
    }
}

/// Issue 11, item 1: the hub's `/readyz` and list route.
@Suite struct HubReadinessTests {
    /// A hub whose publisher reaches Redis is ready and lists its contexts like a spoke; one whose
    /// Redis is gone keeps taking writes but answers `/readyz` 503 after a few seconds.
    @Test func readyWhilePublishingAndNotWhenRedisIsGone() async throws {
        try await TestScene.run("hub-ready") { scene in
            let hub = try HubProcess.start(regions: scene.regions, dir: scene.directory)
            defer { hub.child.stop() }
            #expect(await hub.ready())
            for id in ["a/1", "a/2", "b/1"] {
                #expect(try hub.probe().request("PUT", "/v1/contexts/\(id.replacingOccurrences(of: "/", with: "%2F"))", body: Array("1".utf8)).status == 200)
            }
            #expect(try hub.probe().request("DELETE", "/v1/contexts/a%2F2").status == 200)
            let ready = try hub.probe().get("/readyz")
            #expect(ready.status == 200 && ready.text.hasPrefix(#"{"status":"ready""#), "\(ready.text)")
            #expect(try hub.probe().get("/v1/contexts?prefix=a/").text == #"{"items":[{"id":"a/1","version":1}],"next":null}"#)
            #expect(try hub.probe().get("/v1/contexts?limit=1").text == #"{"items":[{"id":"a/1","version":1}],"next":"a/1"}"#)

            // A hub on a Redis that does not answer: writes are accepted, readiness is not.
            let dead = try HubProcess.start(
                regions: scene.regions, dir: scene.directory, db: scene.path("dead.sqlite"), redis: RedisEndpoint(host: "127.0.0.1", port: LocalPorts.free()),
                logName: "dead.log")
            defer { dead.child.stop() }
            #expect(await dead.ready())
            #expect(try dead.probe().request("PUT", "/v1/contexts/x", body: Array("1".utf8)).status == 200)
            let refused = await eventually(20) {
                let reply = try? dead.probe().get("/readyz")
                return reply?.status == 503 && reply?.text.contains("publish-failing") == true && reply?.text.contains("\"outbox\":1") == true
            }
            #expect(refused, "\(dead.log().suffix(500))")

            // An idle hub (nothing written, nothing to publish) notices too: retention's rounds.
            let idle = try HubProcess.start(
                regions: scene.regions, dir: scene.directory, db: scene.path("idle.sqlite"), redis: RedisEndpoint(host: "127.0.0.1", port: LocalPorts.free()),
                logName: "idle.log")
            defer { idle.child.stop() }
            #expect(await idle.ready())
            let idleRefused = await eventually(20) {
                let reply = try? idle.probe().get("/readyz")
                return reply?.status == 503 && reply?.text.contains("\"outbox\":0") == true
            }
            #expect(idleRefused, "\(idle.log().suffix(500))")
        }
    }
}
