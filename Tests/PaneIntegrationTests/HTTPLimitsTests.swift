import Foundation
import PaneApp
import PaneCore
import PaneRedis
import PaneRuntime
import PaneTestKit
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 10, item 4: a slow or idle client cannot hold a connection (`http.idleTimeoutMs`).
@Suite struct HTTPLimitsTests {
    /// A raw TCP connection to `port`: sends `text`, then waits up to `seconds` for the server to
    /// close it; returns whether it did, and what it answered before.
    static func closes(port: Int, sending text: String, seconds: Int) throws -> (closed: Bool, answer: String) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw TestFailure("connect: errno \(errno)") }
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        if !text.isEmpty { _ = text.withCString { send(fd, $0, strlen($0), 0) } }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count == 0 { return (true, String(decoding: answer, as: UTF8.self)) }
            if count < 0 { return (false, String(decoding: answer, as: UTF8.self)) }  // the timeout: still open
            answer += buffer[0..<count]
        }
    }

    @Test func idleAndHalfSentRequestsAreCutButAWaitingReadIsNot() async throws {
        try await TestScene.withHub("idle") { scene, hub in
            let spoke = try scene.spoke("a", extra: ["--http-idle-timeout-ms", "500"])
            _ = try await hub.store.put(id: try ContextID("k"), body: Array("1".utf8))
            #expect(await eventually(30) { (try? spoke.probe().get("/v1/contexts/k").header("pane-index")) != nil })
            let port = spoke.port
            let (idle, halfHeaders, halfBody, kept) = try await BlockingThread.value(name: "test-idle") {
                (
                    try Self.closes(port: port, sending: "", seconds: 5),
                    try Self.closes(port: port, sending: "GET /v1/contexts/k HTTP/1.1\r\nHost: x\r\n", seconds: 5),
                    try Self.closes(port: port, sending: "PUT /v1/contexts/k HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\":", seconds: 5),
                    try Self.closes(port: port, sending: "GET /v1/contexts/k HTTP/1.1\r\nHost: x\r\n\r\n", seconds: 5)
                )
            }
            #expect(idle.closed, "an idle connection is closed")
            #expect(halfHeaders.closed && halfHeaders.answer.isEmpty, "half-sent headers: \(halfHeaders.answer)")
            #expect(halfBody.closed, "a body that stops")
            #expect(kept.closed && kept.answer.hasPrefix("HTTP/1.1 200"), "a keep-alive connection is answered, then closed when idle")
            // A blocking query that waits longer than the idle timeout is answered, not cut.
            let token = try #require(try spoke.probe().get("/v1/contexts/k").header("pane-index"))
            let started = Date()
            let waited = try spoke.probe(timeoutMs: 10_000).get("/v1/contexts/k?index=\(token)&wait=1500ms")
            #expect(waited.status == 200 && Date().timeIntervalSince(started) >= 1.5)
        }
    }

    /// A republish request names each id once however often it repeats it, at most 1,000
    /// distinct ids, and a body over the limit is a 413, not a 400.
    @Test func republishIsBoundedAndDeduplicated() async throws {
        try await TestScene.run("bounded") { scene in
            let hub = try HubProcess.start(regions: scene.regions, dir: scene.directory, extra: ["--max-body-bytes", "1000"])
            defer { hub.child.stop() }
            #expect(await hub.ready())
            let probe = hub.probe()
            #expect(try probe.request("PUT", "/v1/contexts/one", body: Array("{}".utf8)).status == 200)
            #expect(await eventually(20) { (try? scene.connection().xlen(key: scene.region.keys.updates)) == 1 })
            let thousand = "{\"ids\":[" + Array(repeating: "\"one\"", count: 1_000).joined(separator: ",") + "]}"
            let repeated = try probe.request("POST", "/v1/regions/\(scene.region.name)/republish", body: Array(thousand.utf8))
            #expect(repeated.status == 200 && repeated.text == #"{"republished":["one"],"missing":[]}"#, "\(repeated.text)")
            #expect(await eventually(20) { (try? scene.connection().xlen(key: scene.region.keys.updates)) == 2 })
            try await Task.sleep(for: .milliseconds(300))
            #expect(try scene.connection().xlen(key: scene.region.keys.updates) == 2, "one entry, not a thousand")
            let many = "{\"ids\":[" + (0...1_000).map { "\"id-\($0)\"" }.joined(separator: ",") + "]}"
            let tooMany = try probe.request("POST", "/v1/regions/\(scene.region.name)/republish", body: Array(many.utf8))
            #expect(tooMany.status == 400 && tooMany.text.contains("at most 1000 distinct ids"), "\(tooMany.text)")
            let huge = try probe.request("PUT", "/v1/contexts/big", body: Array(("\"" + String(repeating: "x", count: 5_000) + "\"").utf8))
            #expect(huge.status == 413 && huge.text.contains("body.maxBytes"))
        }
    }
}

/// Issue 10, item 5: a Redis that may evict Pane's keys.
@Suite struct EvictionTests {
    @Test func theHubRefusesAnEvictingRedisUnlessAllowedAndTheSpokeSaysSo() async throws {
        try await TestScene.run("evict") { scene in
            let redis = try RedisServerProcess(directory: scene.path("redis"))
            defer { redis.stop() }
            try RedisConnection(endpoint: redis.endpoint).configSet("maxmemory-policy", "allkeys-lru")
            let region = scene.region
            let refused = try await LifecycleTests.run(
                ["hub", "--redis", redis.endpoint.description, "--regions", region.name, "--db", scene.path("hub.sqlite"), "--http", "127.0.0.1:\(LocalPorts.free())"],
                dir: scene.directory, seconds: 10)
            #expect(refused.status == 2, "\(refused.log.suffix(600))")
            #expect(refused.stopLine.contains("maxmemory-policy is allkeys-lru") && refused.stopLine.contains("--allow-eviction"), "\(refused.stopLine)")

            let hub = try HubProcess.start(regions: [region], dir: scene.directory, extra: ["--allow-eviction", "--log-level", "info"], redis: redis.endpoint)
            defer { hub.child.stop() }
            #expect(await hub.ready(), "\(hub.log().suffix(600))")
            #expect(hub.log().contains("redis may lose data"))
            let spoke = try SpokeProcess.start(region: region, replica: "a", db: scene.path("a.sqlite"), dir: scene.directory, redis: redis.endpoint)
            defer { spoke.child.stop() }
            let exported = await eventually(20) {
                let text = (try? spoke.probe().get("/metrics").text) ?? ""
                return text.contains("pane_redis_evicts{redis=\"\(redis.endpoint.description)\"} 1")
            }
            #expect(exported, "\(spoke.log().suffix(600))")
            #expect(spoke.log().contains("redis may lose data"))
        }
    }
}

/// Issue 10, item 4: the admin CLI's inputs are checked, never trapped on or misread.
@Suite struct AdminInputTests {
    @Test func hostNamesResolveOrAreNamed() throws {
        var loopback = in_addr()
        inet_pton(AF_INET, "127.0.0.1", &loopback)
        #expect(try HTTPProbe.resolve("localhost").s_addr == loopback.s_addr)
        #expect(try HTTPProbe.resolve("127.0.0.1").s_addr == loopback.s_addr)
        #expect(throws: HTTPProbeError.self) { try HTTPProbe.resolve("no-such-host.invalid") }
        do { _ = try HTTPProbe.resolve("no-such-host.invalid") } catch { #expect("\(error)".contains("no-such-host.invalid")) }
    }

    @Test func aDurationTooLongIsBadInputNotATrap() async throws {
        let run = try await PaneCommand.run(["admin", "dlq", "purge", "--region", "r", "--older-than", "999999999999999d"])
        #expect(run.status != 0 && run.status < 128, "a clear error, not a crash: \(run.status) \(run.output)")
        #expect(run.output.contains("999999999999999d"), "\(run.output)")
        #expect(try DeadLetterAdmin.duration("7d") == 7 * 86_400_000)
        #expect(throws: (any Error).self) { try DeadLetterAdmin.duration("9223372036854775807s") }
    }
}
