import Foundation
import PaneApp
import PaneCore
import PaneRuntime
import PaneStore
import PaneTestKit
import Testing

/// Issue 12: reads that choose their consistency. A real hub and real spokes on a real Redis:
/// position tokens from writes, reads that wait for them, `412` and the hub fallback, blocking
/// queries, and tokens from another hub's history.
@Suite struct ConsistencyReadTests {
    /// The hub and a spoke (with `--hub-url`) of the scene's first region, both ready, and the
    /// spoke knowing the hub's identity (its answers carry `Pane-Index`).
    static func start(_ scene: TestScene, spokeExtra: [String] = []) async throws -> (HubProcess, SpokeProcess) {
        let hub = try HubProcess.start(regions: scene.regions, dir: scene.directory)
        #expect(await hub.ready())
        let spoke = try scene.spoke("a", extra: ["--hub-url", "http://127.0.0.1:\(hub.port)"] + spokeExtra)
        _ = try hub.probe().request("PUT", "/v1/contexts/warm-up", body: Array("1".utf8))
        let known = await eventually(30) {
            let reply = try? spoke.probe().get("/v1/contexts/warm-up")
            return reply?.status == 200 && reply?.header("pane-index") != nil
        }
        #expect(known, "the spoke never learned its hub's identity: \(spoke.log().suffix(600))")
        return (hub, spoke)
    }

    /// Read-your-writes under load: while a writer keeps the hub busy, 100 times a write and then
    /// a read at the spoke with the write's `Pane-Min-Index`: never an older version.
    @Test func aReadWithTheWritesIndexSeesTheWrite() async throws {
        try await TestScene.run("ryw") { scene in
            let (hub, spoke) = try await Self.start(scene)
            defer { hub.child.stop() }
            // The background writer runs on a thread of its own: the cooperative pool is busy
            // with the rest of the suite.
            let stop = Locked(false)
            let noise = Locked(0)
            let done = DispatchSemaphore(value: 0)
            Thread {
                let probe = hub.probe()
                while !stop.value {
                    _ = try? probe.request("PUT", "/v1/contexts/noise-\(noise.value % 500)", body: Array("{\"i\":\(noise.value)}".utf8))
                    noise.value += 1
                }
                done.signal()
            }.start()
            // Blocking HTTP on a thread of its own, not on the cooperative pool that other tests'
            // hubs need.
            let failures = try await BlockingThread.value(name: "test-ryw") { () -> [String] in
                let writer = hub.probe()
                let reader = spoke.probe()
                var failures: [String] = []
                for round in 1...100 {
                    let write = try writer.request("PUT", "/v1/contexts/mine", body: Array("{\"round\":\(round)}".utf8))
                    guard write.status == 200, let index = write.header("pane-index") else {
                        failures.append("round \(round): write \(write.status)")
                        break
                    }
                    let read = try reader.get("/v1/contexts/mine?wait=5s", headers: ["Pane-Min-Index": index])
                    if read.status != 200 || !read.text.contains("{\"round\":\(round)}") || read.header("pane-source") != "replica" {
                        failures.append("round \(round): \(read.status) \(read.text)")
                    }
                }
                return failures
            }
            #expect(failures.isEmpty, "\(failures.prefix(5))")
            let writer = hub.probe()
            let reader = spoke.probe()
            // The same with the query parameter instead of the header.
            let write = try writer.request("PUT", "/v1/contexts/mine", body: Array("{\"round\":\"query\"}".utf8))
            let index = try #require(write.header("pane-index"))
            let read = try reader.get("/v1/contexts/mine?wait=5s&minIndex=\(index)")
            #expect(read.text.contains("\"query\""))
            stop.value = true
            done.wait()
            #expect(noise.value > 100, "the background writer ran")
        }
    }

    /// A write that did not go to the spoke's region: the read waits, then `412` with the
    /// replica's position; `fallback=hub` gives the hub's copy, `consistency=hub` reads the hub.
    @Test func aPositionThisRegionNeverGetsIsAPreconditionFailure() async throws {
        try await TestScene.run("pre", regions: ["pre", "pre-other"]) { scene in
            let (hub, spoke) = try await Self.start(scene)
            defer { hub.child.stop() }
            let writer = hub.probe()
            #expect(try writer.request("PUT", "/v1/contexts/cfg", body: Array("{\"v\":1}".utf8)).status == 200)
            #expect(await eventually(20) { (try? spoke.probe().get("/v1/contexts/cfg").status) == 200 })
            let elsewhere = try writer.request("PUT", "/v1/contexts/cfg?regions=\(scene.regions[1].name)", body: Array("{\"v\":2}".utf8))
            let index = try #require(elsewhere.header("pane-index"))
            let started = Date()
            let refused = try spoke.probe().get("/v1/contexts/cfg?wait=300ms", headers: ["Pane-Min-Index": index])
            #expect(refused.status == 412, "\(refused.text)")
            #expect(Date().timeIntervalSince(started) >= 0.3, "it waited first")
            #expect(refused.header("pane-index") != nil && refused.header("pane-replica-version") == "1")
            #expect(refused.text.contains("\"version\":1"))
            let fallback = try spoke.probe().get("/v1/contexts/cfg?wait=100ms&fallback=hub", headers: ["Pane-Min-Index": index])
            #expect(fallback.status == 200 && fallback.header("pane-source") == "hub", "\(fallback.text)")
            #expect(fallback.text.contains("{\"v\":2}"))
            let direct = try spoke.probe().get("/v1/contexts/cfg?consistency=hub")
            #expect(direct.header("pane-source") == "hub" && direct.header("etag") == "\"2\"")
            let hubList = try spoke.probe().get("/v1/contexts?prefix=c&consistency=hub")
            #expect(hubList.header("pane-source") == "hub" && hubList.text == #"{"items":[{"id":"cfg","version":2}],"next":null}"#, "\(hubList.text)")
            // minVersion: the replica holds version 1 of cfg.
            #expect(try spoke.probe().get("/v1/contexts/cfg?minVersion=1").status == 200)
            #expect(try spoke.probe().get("/v1/contexts/cfg?minVersion=2&wait=100ms").status == 412)
        }
    }

    /// Without `spoke.hubURL`, hub reads answer `501` naming the setting; a token from another
    /// hub database's history is refused with `400`; bad input is named.
    @Test func hubReadsNeedTheHubsAddressAndForeignTokensAreRefused() async throws {
        try await TestScene.withHub("foreign") { scene, hub in
            let spoke = try scene.spoke("a")
            _ = try await hub.store.put(id: try ContextID("x"), body: Array("1".utf8))
            let known = await eventually(30) { (try? spoke.probe().get("/v1/contexts/x").header("pane-index")) != nil }
            #expect(known, "\(spoke.log().suffix(600))")
            let noHub = try spoke.probe().get("/v1/contexts/x?consistency=hub")
            #expect(noHub.status == 501 && noHub.text.contains("spoke.hubURL"), "\(noHub.text)")
            let foreign = PositionToken(hub: "0123456789abcdef", positions: [scene.region: 1]).encoded
            let refused = try spoke.probe().get("/v1/contexts/x", headers: ["Pane-Min-Index": foreign])
            #expect(refused.status == 400 && refused.text.contains("another hub database"), "\(refused.text)")
            let bad = try spoke.probe().get("/v1/contexts/x?wait=forever")
            #expect(bad.status == 400 && bad.text.contains("wait"))
            let badToken = try spoke.probe().get("/v1/contexts/x?minIndex=12")
            #expect(badToken.status == 400 && badToken.text.contains("minIndex"))
        }
    }

    /// A blocking query returns when the context changes after the position, and at the end of
    /// the wait (with the current answer) when it does not; the same on the list route.
    @Test func blockingQueriesWakeOnChange() async throws {
        try await TestScene.withHub("block") { scene, hub in
            let spoke = try scene.spoke("a")
            _ = try await hub.store.put(id: try ContextID("watched/1"), body: Array("1".utf8))
            var index: String?
            // The token of a read that found the context: a 404's token (the spoke still catching
            // up) is older than the write, and a query with it would answer at once.
            let ready = await eventually(30) {
                guard let reply = try? spoke.probe().get("/v1/contexts/watched%2F1"), reply.status == 200 else { return false }
                index = reply.header("pane-index")
                return index != nil
            }
            #expect(ready)
            let token = try #require(index)
            // No change: the answer comes after the wait (plus at most 1/16 of jitter).
            var started = Date()
            let quiet = try spoke.probe().get("/v1/contexts/watched%2F1?index=\(token)&wait=500ms")
            #expect(quiet.status == 200 && quiet.header("etag") == "\"1\"")
            #expect(Date().timeIntervalSince(started) >= 0.5)
            // A change while waiting wakes the query well before its 60 s wait (generous: the suite runs
            // many processes on two cores).
            let waiting = Task {
                try await BlockingThread.value(name: "test-block") { () -> (Int, String?, Double) in
                    let begun = Date()
                    let reply = try spoke.probe(timeoutMs: 90_000).get("/v1/contexts/watched%2F1?index=\(token)&wait=60s")
                    return (reply.status, reply.header("etag"), Date().timeIntervalSince(begun))
                }
            }
            try await Task.sleep(for: .milliseconds(300))
            _ = try await hub.store.put(id: try ContextID("watched/1"), body: Array("2".utf8))
            let (status, etag, seconds) = try await waiting.value
            #expect(status == 200 && etag == "\"2\"")
            #expect(seconds < 58, "woke on the change, not at the end of the 60 s wait: \(seconds) s")
            // The list route: any change under the prefix.
            let list = try spoke.probe().get("/v1/contexts?prefix=watched/")
            let listToken = try #require(list.header("pane-index"))
            let listWait = Task {
                try await BlockingThread.value(name: "test-block") { () -> (String, Double) in
                    let begun = Date()
                    let reply = try spoke.probe(timeoutMs: 90_000).get("/v1/contexts?prefix=watched/&index=\(listToken)&wait=60s")
                    return (reply.text, Date().timeIntervalSince(begun))
                }
            }
            try await Task.sleep(for: .milliseconds(300))
            _ = try await hub.store.put(id: try ContextID("other/1"), body: Array("1".utf8))
            _ = try await hub.store.put(id: try ContextID("watched/2"), body: Array("1".utf8))
            let (text, listSeconds) = try await listWait.value
            #expect(text.contains("watched/2"), "\(text)")
            #expect(listSeconds < 58)
            started = Date()
            let unchanged = try spoke.probe().get("/v1/contexts?prefix=zzz/&index=\(listToken)&wait=300ms")
            #expect(unchanged.status == 200 && Date().timeIntervalSince(started) >= 0.3)
        }
    }
}
