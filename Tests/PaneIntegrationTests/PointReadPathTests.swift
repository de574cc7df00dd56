import Foundation
import GRDB
import PaneApp
import PaneCore
import PaneRuntime
@testable import PaneSpoke
import PaneStore
import PaneTestKit
import Testing

/// Issue 13 item 2, second pass: a plain point read answered from memory while the replica file
/// has not changed (``PointReadCache`` on ``CommitStamps``), and matched before the router's trie
/// (``SegmentRouter``). Neither may change an answer, nor let a read see older data than the file.
@Suite struct PointReadPathTests {
    static func update(_ id: String, version: Int64, body: String) throws -> ContextUpdate {
        ContextUpdate(seq: UInt64(version), id: try ContextID(id), version: version, op: .put, body: Array(body.utf8), hubTimeUs: 1_000)
    }

    /// A commit through another connection (as another worker process makes) moves the stamp;
    /// no commit, no move. A file not in WAL mode has no stamp.
    @Test func commitStampsMoveWithEveryCommitAndOnlyThen() async throws {
        let dir = try TestEnv.directory("stamps")
        try await BlockingThread.value(name: "test-stamps") {
            let store = try ReplicaStore(path: "\(dir)/r.sqlite")
            let stamps = try #require(CommitStamps(path: store.path))
            let other = try DatabaseQueue(path: store.path)
            var seen: [CommitStamps.Stamp] = []
            for n in 1...5 {
                let before = try #require(stamps.current())
                #expect(stamps.current() == before, "no commit, same stamp")
                try other.write { db in try db.execute(sql: "UPDATE replica_state SET value = value + 1 WHERE name = 'change'") }
                let after = try #require(stamps.current())
                #expect(after != before, "commit \(n) moved the stamp")
                #expect(!seen.contains(after))
                seen.append(after)
                _ = try store.apply([try Self.update("k", version: Int64(n), body: "{\"n\":\(n)}")])
                #expect(stamps.current() != after, "an apply moved the stamp")
            }
            let plain = "\(dir)/plain.sqlite"
            let queue = try DatabaseQueue(path: plain)
            try queue.write { db in try db.execute(sql: "CREATE TABLE t(x)") }
            #expect(CommitStamps(path: plain) == nil, "a rollback-journal file has no WAL index")
        }
    }

    /// The cache answers a repeated read without the file, and a commit by another connection
    /// makes the very next read go to the file and see it.
    @Test func theCacheAnswersUntilTheNextCommit() async throws {
        let dir = try TestEnv.directory("point-cache")
        try await BlockingThread.value(name: "test-point-cache") {
            let store = try ReplicaStore(path: "\(dir)/r.sqlite")
            _ = try store.apply([try Self.update("tenant/k", version: 1, body: "{\"v\":1}")])
            let cache = PointReadCache(stamps: CommitStamps(path: store.path))
            let reads = Locked(0)
            let read: (ContextID) throws -> ReplicaRead = { id in
                reads.withLock { $0 += 1 }
                return try store.read(id: id)
            }
            let first = try cache.answer(raw: "tenant%2Fk", read: read)
            let second = try cache.answer(raw: "tenant%2Fk", read: read)
            #expect(reads.value == 1 && cache.count == 1, "the second read came from memory")
            #expect(first.etag == "\"1\"" && Array(second.body.readableBytesView) == Array(first.body.readableBytesView))
            let other = try DatabaseQueue(path: store.path)
            for version in Int64(2)...20 {
                try other.write { db in
                    try db.execute(
                        sql: "UPDATE contexts SET version = ?, body = ? WHERE id = 'tenant/k'", arguments: [version, Data("{\"v\":\(version)}".utf8)])
                }
                let answer = try cache.answer(raw: "tenant%2Fk", read: read)
                #expect(answer.etag == "\"\(version)\"", "read after commit \(version)")
                #expect(String(decoding: answer.body.readableBytesView, as: UTF8.self).contains("{\"v\":\(version)}"))
            }
            #expect(reads.value == 20)
            // Unknown ids are answered (404) and kept too; invalid ones are refused and never kept.
            #expect(try cache.answer(raw: "nope", read: read).status == .notFound)
            #expect(throws: ValidationError.self) { try cache.answer(raw: "bad%zz", read: read) }
            #expect(throws: ValidationError.self) { try cache.answer(raw: "bad%zz", read: read) }
            #expect(cache.count == 2)
            // Without stamps (not WAL), every read goes to the file.
            let uncached = PointReadCache(stamps: nil)
            let before = reads.value
            _ = try uncached.answer(raw: "tenant%2Fk", read: read)
            _ = try uncached.answer(raw: "tenant%2Fk", read: read)
            #expect(reads.value == before + 2 && uncached.count == 0)
        }
    }

    /// A `pane spoke` process and this test process on one file: each commit the test makes is in
    /// the spoke's very next answer, however warm its cache was.
    @Test func aSpokeNeverAnswersOlderThanAnotherProcessCommitted() async throws {
        try await TestScene.withHub("point-fresh") { scene, hub in
            let spoke = try scene.spoke("a")
            _ = try await hub.store.put(id: try ContextID("tenant/k"), body: Array(#"{"v":0}"#.utf8))
            #expect(await eventually(30) { (try? spoke.probe().get("/v1/contexts/tenant%2Fk").status) == 200 }, "\(spoke.log().suffix(600))")
            let port = spoke.port
            let db = spoke.db
            let failures = try await BlockingThread.value(name: "test-point-fresh") { () -> [String] in
                let probe = HTTPProbe(port: port)
                let other = try DatabaseQueue(path: db)
                var failures: [String] = []
                for n in Int64(100)..<Int64(160) {
                    for _ in 0..<3 { _ = try probe.get("/v1/contexts/tenant%2Fk") }
                    try other.write { db in
                        try db.execute(
                            sql: "UPDATE contexts SET version = ?, body = ? WHERE id = 'tenant/k'", arguments: [n, Data("{\"v\":\(n)}".utf8)])
                    }
                    for path in ["/v1/contexts/tenant%2Fk", "//v1/contexts/tenant%2Fk"] {
                        let reply = try probe.get(path)
                        if reply.header("etag") != "\"\(n)\"" || !reply.text.contains("{\"v\":\(n)}") {
                            failures.append("\(path) after commit \(n): \(reply.status) \(reply.header("etag") ?? "-") \(reply.text)")
                        }
                    }
                }
                return failures
            }
            #expect(failures.isEmpty, "\(failures.prefix(5))")
        }
    }

    /// Two `pane spoke` processes of one replica, one file: whichever applied a write, once one of
    /// them answers with it, the other does at once.
    @Test func twoSpokesOnOneFileAgreeAtOnce() async throws {
        try await TestScene.withHub("point-two") { scene, hub in
            let db = scene.replicaPath("a")
            let one = try scene.spoke("a", db: db, consumer: "w1")
            let two = try scene.spoke("a", db: db, consumer: "w2")
            let id = try ContextID("tenant/two")
            _ = try await hub.store.put(id: id, body: Array(#"{"v":1}"#.utf8))
            for spoke in [one, two] {
                #expect(await eventually(30) { (try? spoke.probe().get("/v1/contexts/tenant%2Ftwo").status) == 200 }, "\(spoke.log().suffix(600))")
            }
            let ports = (one.port, two.port)
            var failures: [String] = []
            for version in Int64(2)...40 {
                // Warm both caches with the current version.
                try await BlockingThread.value(name: "test-point-warm") {
                    for port in [ports.0, ports.1] { for _ in 0..<3 { _ = try HTTPProbe(port: port).get("/v1/contexts/tenant%2Ftwo") } }
                }
                _ = try await hub.store.put(id: id, body: Array("{\"v\":\(version)}".utf8))
                let result = try await BlockingThread.value(name: "test-point-two") { () -> String? in
                    let probes = [HTTPProbe(port: ports.0), HTTPProbe(port: ports.1)]
                    let deadline = Date().addingTimeInterval(20)
                    while Date() < deadline {
                        for (i, probe) in probes.enumerated() where try probe.get("/v1/contexts/tenant%2Ftwo").header("etag") == "\"\(version)\"" {
                            let other = try probes[1 - i].get("/v1/contexts/tenant%2Ftwo")
                            return other.header("etag") == "\"\(version)\"" ? nil : "spoke \(i) had \(version), the other \(other.text)"
                        }
                    }
                    return "version \(version) never arrived"
                }
                if let result { failures.append(result) }
            }
            #expect(failures.isEmpty, "\(failures.prefix(5))")
            // Both workers applied some of the writes: each answered what the other committed.
            let applied = try await BlockingThread.value(name: "test-point-applied") {
                try [ports.0, ports.1].map { port in
                    try HTTPProbe(port: port).get("/metrics").text.split(separator: "\n")
                        .first { $0.hasPrefix("pane_spoke_applied_total{") }.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) } ?? 0
                }
            }
            #expect(applied.allSatisfy { $0 > 0 }, "entries applied per worker: \(applied)")
        }
    }

    /// The point-read route matched before the trie (`/v1/contexts/{id}`) and the same route
    /// through the trie (`//v1/contexts/{id}`, which only the trie takes) answer alike: tokens,
    /// roles, errors, `404`, `304`, `HEAD`; and the request metrics count both under the route.
    @Test func theSegmentRouteAnswersAsTheRouterDoes() async throws {
        try await TestScene.withHub("point-route") { scene, hub in
            let tokens = AuthTests.Tokens()
            let file = scene.path("tokens")
            try AuthTests.write(tokens.file, to: file)
            #expect(chmod(file, 0o600) == 0)
            _ = try await hub.store.put(id: try ContextID("tenant/a"), body: Array(#"{"v":1}"#.utf8))
            let spoke = try scene.spoke("a", extra: ["--tokens-file", file])
            let port = spoke.port
            #expect(await eventually(30) { (try? AuthTests.status(port, "GET", "/v1/contexts/tenant%2Fa", token: tokens.read)) == 200 })
            let cases: [(method: String, id: String, token: String?, headers: [String: String])] = [
                ("GET", "tenant%2Fa", tokens.read, [:]), ("GET", "tenant%2Fa", nil, [:]), ("GET", "tenant%2Fa", tokens.write, [:]),
                ("GET", "tenant%2Fa", tokens.unknown, [:]), ("GET", "tenant%2Fa", "not a token", [:]), ("GET", "nope", tokens.read, [:]),
                ("GET", "bad%zz", tokens.read, [:]), ("GET", String(repeating: "x", count: 600), tokens.read, [:]),
                ("GET", "tenant%2Fa", tokens.read, ["If-None-Match": "\"1\""]), ("HEAD", "tenant%2Fa", tokens.read, [:]),
                ("GET", "tenant%2Fa?minVersion=1", tokens.read, [:]), ("GET", "tenant%2Fa?minVersion=x", tokens.read, [:]),
            ]
            let metricsBefore = try await Self.requestCount(port: port, token: tokens.metrics)
            let mismatches = try await BlockingThread.value(name: "test-point-route") { () -> [String] in
                var mismatches: [String] = []
                for c in cases {
                    let fast = try HTTPProbe(port: port, token: c.token).request(c.method, "/v1/contexts/\(c.id)", headers: c.headers)
                    let trie = try HTTPProbe(port: port, token: c.token).request(c.method, "//v1/contexts/\(c.id)", headers: c.headers)
                    let varying: Set<String> = ["date", "pane-contact-age-ms"]
                    let fastHeaders = fast.headers.filter { !varying.contains($0.key) }
                    var trieHeaders = trie.headers.filter { !varying.contains($0.key) }
                    // A 403 names the path as sent: one `/` more in the trie's answer.
                    let trieText = trie.text.replacingOccurrences(of: "//v1/", with: "/v1/")
                    if trieText != trie.text, let length = trieHeaders["content-length"].flatMap({ Int($0) }) {
                        trieHeaders["content-length"] = String(length - (trie.body.count - trieText.utf8.count))
                    }
                    if fast.status != trie.status || fastHeaders != trieHeaders || fast.text != trieText {
                        mismatches.append(
                            "\(c.method) \(c.id): \(fast.status) \(fastHeaders) \(fast.text) vs \(trie.status) \(trieHeaders) \(trie.text)")
                    }
                }
                return mismatches
            }
            #expect(mismatches.isEmpty, "\(mismatches)")
            // Both ways are counted under the route, refusals too (the metrics come before the
            // token check); `HEAD` as `GET` (it is routed as one).
            let metricsAfter = try await Self.requestCount(port: port, token: tokens.metrics)
            var delta: [String: Int] = [:]
            for (key, value) in metricsAfter { delta[key] = value - (metricsBefore[key] ?? 0) }
            let expected = ["GET 200": 6, "GET 401": 6, "GET 403": 2, "GET 404": 2, "GET 304": 2, "GET 400": 6]
            #expect(delta == expected, "\(delta)")
        }
    }

    /// `pane_http_requests_total` of the point-read route by `METHOD status`.
    static func requestCount(port: Int, token: String) async throws -> [String: Int] {
        let text = try await BlockingThread.value(name: "test-point-metrics") { try HTTPProbe(port: port, token: token).get("/metrics").text }
        var counts: [String: Int] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("pane_http_requests_total{route=\"/v1/contexts/{id}\"") {
            guard let method = line.firstMatch(of: /method="([A-Z]+)"/)?.1, let status = line.firstMatch(of: /status="([0-9]+)"/)?.1,
                let value = line.split(separator: " ").last.flatMap({ Double($0) })
            else { continue }
            counts["\(method) \(status)"] = Int(value)
        }
        return counts
    }
}
