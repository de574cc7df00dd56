import Foundation
import PaneApp
import PaneCore
import PaneRuntime
import PaneStore
import PaneTestKit
import Testing

/// Issue 12, item 6: `If-Match` and `If-None-Match: *` at the hub.
@Suite struct ConditionalWriteTests {
    /// Two writers race on one context with the same `If-Match` each round over HTTP: exactly one
    /// wins, the other gets `412` with the current version.
    @Test func exactlyOneOfTwoRacingWritersWins() async throws {
        try await TestScene.run("cas") { scene in
            let hub = try HubProcess.start(regions: scene.regions, dir: scene.directory)
            defer { hub.child.stop() }
            #expect(await hub.ready())
            let create = try hub.probe().request(
                "PUT", "/v1/contexts/lock", body: Array("0".utf8), headers: ["If-None-Match": "*"])
            #expect(create.status == 200)
            let again = try hub.probe().request(
                "PUT", "/v1/contexts/lock", body: Array("0".utf8), headers: ["If-None-Match": "*"])
            #expect(again.status == 412 && again.text.contains("already exists"), "\(again.text)")
            let rounds = try await BlockingThread.value(name: "test-cas") { () -> [String] in
                var failures: [String] = []
                for round in 1...30 {
                    guard let etag = try hub.probe().get("/v1/contexts/lock").header("etag") else {
                        failures.append("round \(round): no etag")
                        break
                    }
                    let statuses = Locked<[Int]>([])
                    let group = DispatchGroup()
                    for writer in 0..<2 {
                        group.enter()
                        Thread {
                            let reply = try? hub.probe().request(
                                "PUT", "/v1/contexts/lock",
                                body: Array("{\"round\":\(round),\"writer\":\(writer)}".utf8),
                                headers: ["If-Match": etag])
                            statuses.withLock { $0.append(reply?.status ?? -1) }
                            group.leave()
                        }.start()
                    }
                    group.wait()
                    if statuses.value.sorted() != [200, 412] {
                        failures.append("round \(round): \(statuses.value)")
                    }
                }
                return failures
            }
            #expect(rounds.isEmpty, "\(rounds)")
            let final = try hub.probe().get("/v1/contexts/lock")
            #expect(final.header("etag") == "\"31\"", "one version per round: \(final.text)")
            let stale = try hub.probe().request(
                "DELETE", "/v1/contexts/lock", headers: ["If-Match": "\"3\""])
            #expect(
                stale.status == 412 && stale.header("etag") == "\"31\""
                    && stale.text.contains("\"version\":31"))
            #expect(
                try hub.probe().request("DELETE", "/v1/contexts/lock", headers: ["If-Match": "\"31\""])
                    .status == 200)
            #expect(
                try hub.probe().request(
                    "PUT", "/v1/contexts/lock", body: Array("1".utf8), headers: ["If-Match": "*"]
                ).status == 412)
            let bad = try hub.probe().request(
                "PUT", "/v1/contexts/lock", body: Array("1".utf8), headers: ["If-Match": "seven"])
            #expect(bad.status == 400 && bad.text.contains("If-Match"))
        }
    }

    /// In one group commit, conditional writes see the writes queued before them: of 20
    /// concurrent writers with the same `If-Match`, one wins; unconditional writes in the same
    /// groups all commit.
    @Test func aGroupCommitChecksEachConditionInOrder() async throws {
        try await TestScene.run("cas-group") { scene in
            let store = try HubStore(path: scene.path("hub.sqlite"), regions: scene.regions)
            let id = try ContextID("counter")
            let first = try await store.put(id: id, body: Array("0".utf8))
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<20 {
                    group.addTask {
                        do {
                            _ = try await store.put(
                                id: id, body: Array("\(i)".utf8), condition: .version(first.version))
                            return true
                        } catch is WritePreconditionFailed {
                            return false
                        }
                    }
                    group.addTask {
                        _ = try await store.put(id: try ContextID("free-\(i)"), body: Array("1".utf8))
                        return true
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(
                outcomes.filter { !$0 }.count == 19, "19 conditional writes refused, the rest committed")
            #expect(try await store.get(id: id)?.version == 2)
        }
    }
}
