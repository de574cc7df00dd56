import Foundation
import PaneApp
import PaneCore
import PaneRuntime
import PaneTestKit
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The hub's write routes (`PUT` and `DELETE /v1/contexts/{id}`, `POST /v1/batch`) are answered
/// by a NIO handler on the connection's event loop (``LoopRouteHandler``), before Hummingbird, and
/// its connections run on their event loops: both must leave every answer as it was, and keep the
/// answers of one connection in the order of its requests.
@Suite struct HubWriteRouteTests {
    /// The route on the event loop (`/v1/contexts/{id}`) and the same route through the router's
    /// trie (`//v1/contexts/{id}`, which only the trie takes) answer alike: tokens, roles, bodies,
    /// ids, regions, `If-Match` and `If-None-Match`; and the request metrics count both under the
    /// route. Each case writes a context of its own on each path (`f<n>` and `t<n>`, set up alike),
    /// so the answers differ only in that id and in the position token, which each write gets anew.
    @Test func thePutRouteAnswersAsTheRouterDoes() async throws {
        try await TestScene.run("put-route", regions: ["put-route", "other"]) { scene in
            let tokens = AuthTests.Tokens()
            let file = scene.path("tokens")
            try AuthTests.write(tokens.file, to: file)
            #expect(chmod(file, 0o600) == 0)
            let hub = try HubProcess.start(regions: scene.regions, dir: scene.directory, extra: ["--tokens-file", file, "--max-body-bytes", "1000"])
            defer { hub.child.stop() }
            #expect(await hub.ready(), "\(hub.log().suffix(800))")
            let port = hub.port
            let other = scene.regions[1].name
            struct Case {
                var token: String?
                var id: String?  // nil: a fresh id per path (`f<n>`, `t<n>`)
                var query = ""
                var body = #"{"v":1}"#
                var headers: [String: String] = [:]
                var existing = 0  // versions written before the case
            }
            let cases: [Case] = [
                Case(token: tokens.write), Case(token: tokens.admin), Case(token: nil), Case(token: tokens.read),
                Case(token: tokens.unknown), Case(token: "not a token"), Case(token: tokens.write, body: "{oops"),
                Case(token: tokens.write, body: "\"" + String(repeating: "y", count: 2_000) + "\""),
                Case(token: tokens.write, id: "bad%zz"), Case(token: tokens.write, id: String(repeating: "z", count: 600)),
                Case(token: tokens.write, id: "has%20space"), Case(token: tokens.write, query: "?regions=\(other)"),
                Case(token: tokens.write, query: "?regions=mars-1"), Case(token: tokens.write, query: "?regions="),
                Case(token: tokens.write, headers: ["If-Match": "\"2\""], existing: 2),
                Case(token: tokens.write, headers: ["If-Match": "\"1\""], existing: 2),
                Case(token: tokens.write, headers: ["If-Match": "*"]), Case(token: tokens.write, headers: ["If-Match": "seven"]),
                Case(token: tokens.write, headers: ["If-None-Match": "*"]),
                Case(token: tokens.write, headers: ["If-None-Match": "*"], existing: 1),
                Case(token: tokens.read, headers: ["If-None-Match": "*"], existing: 1),
            ]
            try await Self.writeVersions(port: port, token: tokens.write, of: cases.map(\.existing))
            let metricsBefore = try await PointReadPathTests.requestCount(port: port, token: tokens.metrics)
            let (mismatches, statuses) = try await BlockingThread.value(name: "test-put-route") { () -> ([String], [Int]) in
                var mismatches: [String] = []
                var statuses: [Int] = []
                for (n, c) in cases.enumerated() {
                    let fastID = c.id ?? "f\(n)"
                    let trieID = c.id ?? "t\(n)"
                    let body = Array(c.body.utf8)
                    let fast = try HTTPProbe(port: port, token: c.token).request(
                        "PUT", "/v1/contexts/\(fastID)\(c.query)", body: body, headers: c.headers)
                    let trie = try HTTPProbe(port: port, token: c.token).request(
                        "PUT", "//v1/contexts/\(trieID)\(c.query)", body: body, headers: c.headers)
                    statuses.append(fast.status)
                    let (fastText, fastHeaders) = Self.normalized(fast, id: fastID, as: fastID)
                    let (trieText, trieHeaders) = Self.normalized(trie, id: trieID, as: fastID)
                    if fast.status != trie.status || fastHeaders != trieHeaders || fastText != trieText {
                        mismatches.append("case \(n): \(fast.status) \(fastHeaders) \(fast.text) vs \(trie.status) \(trieHeaders) \(trie.text)")
                    }
                }
                return (mismatches, statuses)
            }
            #expect(mismatches.isEmpty, "\(mismatches)")
            // The cases cover what the route answers: writes, refusals of tokens and roles, bad
            // input, a body over the limit, failed conditions.
            #expect(Set(statuses) == [200, 400, 401, 403, 412, 413], "\(statuses)")
            let metricsAfter = try await PointReadPathTests.requestCount(port: port, token: tokens.metrics)
            var delta: [String: Int] = [:]
            for (key, value) in metricsAfter where value != metricsBefore[key] { delta[key] = value - (metricsBefore[key] ?? 0) }
            var expected: [String: Int] = [:]
            for status in statuses { expected["PUT \(status)", default: 0] += 2 }
            #expect(delta == expected, "\(delta)")
        }
    }

    /// The reply's body and headers with what differs by path and by write taken out: the path's
    /// extra `/` in a 403, the context id (`id` written as `as`), the position token (present or
    /// not), the date, and the length that follows from the body.
    static func normalized(_ reply: HTTPProbe.Reply, id: String, as fastID: String) -> (String, [String: String]) {
        var text = reply.text.replacingOccurrences(of: "//v1/", with: "/v1/")
        text = text.replacing(/"index":"[^"]*"/, with: "\"index\":\"…\"")
        text = text.replacingOccurrences(of: "\"\(id)\"", with: "\"\(fastID)\"").replacingOccurrences(of: "'\(id)'", with: "'\(fastID)'")
        text = text.replacingOccurrences(of: "/v1/contexts/\(id)", with: "/v1/contexts/\(fastID)")
        var headers = reply.headers.filter { !["date", "content-length", "pane-index"].contains($0.key) }
        headers["pane-index"] = reply.header("pane-index") == nil ? "absent" : "present"
        return (text, headers)
    }

    /// `DELETE /v1/contexts/{id}` and `POST /v1/batch` on the event loop and through the trie
    /// (`//v1/…`) answer alike, as the PUT does above: tokens, roles, unknown contexts, bad ids,
    /// regions and conditions, a delete's ignored body, bad batches, a batch over its limit; and
    /// the request metrics count both ways under the route.
    @Test func theDeleteAndBatchRoutesAnswerAsTheRouterDoes() async throws {
        try await TestScene.run("del-route", regions: ["del-route", "other"]) { scene in
            let tokens = AuthTests.Tokens()
            let file = scene.path("tokens")
            try AuthTests.write(tokens.file, to: file)
            #expect(chmod(file, 0o600) == 0)
            let hub = try HubProcess.start(regions: scene.regions, dir: scene.directory, extra: ["--tokens-file", file])
            defer { hub.child.stop() }
            #expect(await hub.ready(), "\(hub.log().suffix(800))")
            let port = hub.port
            let other = scene.regions[1].name
            struct Case {
                var method = "DELETE"
                var token: String?
                var id: String?  // nil: a fresh id per path (`f<n>`, `t<n>`); `ID` in a batch body stands for it
                var query = ""
                var body = ""
                var headers: [String: String] = [:]
                var existing = 0  // versions written before the case
                // The answer on the event loop, when the trie's differs by design: the token check
                // knows `//v1/batch` as no batch path (it needs an admin token there, as before).
                var fastAnswer: String?
            }
            let huge = String(repeating: " ", count: (4 << 20) + 1)
            let cases: [Case] = [
                Case(token: tokens.write, existing: 1), Case(token: tokens.admin, existing: 2), Case(token: nil, existing: 1),
                Case(token: tokens.read, existing: 1), Case(token: tokens.unknown, existing: 1), Case(token: tokens.write),
                Case(token: tokens.write, id: "bad%zz"), Case(token: tokens.write, id: String(repeating: "z", count: 600)),
                Case(token: tokens.write, query: "?regions=\(other)", existing: 1), Case(token: tokens.write, query: "?regions=mars-1", existing: 1),
                Case(token: tokens.write, headers: ["If-Match": "\"2\""], existing: 2), Case(token: tokens.write, headers: ["If-Match": "\"1\""], existing: 2),
                Case(token: tokens.write, headers: ["If-Match": "seven"], existing: 1),
                Case(token: tokens.write, body: String(repeating: "b", count: 3_000_000), existing: 1),
                Case(method: "POST", token: tokens.admin, body: #"[{"op":"put","id":"ID","body":1},{"op":"put","id":"ID-2","body":[2]}]"#),
                Case(method: "POST", token: tokens.admin, body: #"[{"op":"put","id":"ID","body":1},{"op":"delete","id":"ID-2"}]"#),
                Case(method: "POST", token: tokens.admin, body: #"[{"op":"put","id":"ID","body":1,"regions":["mars-1"]}]"#),
                Case(method: "POST", token: tokens.admin, body: #"[{"op":"put","id":"ID","body":{x}}]"#),
                Case(method: "POST", token: tokens.admin, body: #"{"operations":[]}"#),
                Case(method: "POST", token: tokens.admin, body: huge), Case(method: "POST", token: nil, body: "[]"),
                Case(method: "POST", token: tokens.admin, body: #"[{"op":"delete","id":"ID"}]"#, existing: 1),
                Case(
                    method: "POST", token: tokens.read, body: "[]",
                    fastAnswer: #"403 {"error":"a read token may not POST /v1/batch: it needs a write or admin token"}"#),
                Case(method: "POST", token: tokens.write, body: #"[{"op":"put","id":"ID","body":7}]"#, fastAnswer: "200"),
            ]
            try await Self.writeVersions(port: port, token: tokens.write, of: cases.map(\.existing))
            let before = try await Self.routeCounts(port: port, token: tokens.metrics)
            let (mismatches, statuses, counted) = try await BlockingThread.value(name: "test-del-route") { () -> ([String], [String], [String]) in
                var mismatches: [String] = []
                var statuses: [String] = []
                var counted: [String] = []
                for (n, c) in cases.enumerated() {
                    let fastID = c.id ?? "f\(n)"
                    let trieID = c.id ?? "t\(n)"
                    let path = c.method == "POST" ? "/v1/batch" : "/v1/contexts/"
                    let fast = try HTTPProbe(port: port, token: c.token).request(
                        c.method, "\(path)\(c.method == "POST" ? "" : fastID)\(c.query)",
                        body: Array(c.body.replacingOccurrences(of: "ID", with: fastID).utf8), headers: c.headers)
                    let trie = try HTTPProbe(port: port, token: c.token).request(
                        c.method, "/\(path)\(c.method == "POST" ? "" : trieID)\(c.query)",
                        body: Array(c.body.replacingOccurrences(of: "ID", with: trieID).utf8), headers: c.headers)
                    statuses.append("\(c.method) \(fast.status)")
                    counted += ["\(c.method) \(fast.status)", "\(c.method) \(trie.status)"]
                    if let expected = c.fastAnswer {
                        if !"\(fast.status) \(fast.text)".hasPrefix(expected) { mismatches.append("case \(n): \(fast.status) \(fast.text)") }
                        continue
                    }
                    let (fastText, fastHeaders) = Self.normalized(fast, id: fastID, as: fastID)
                    var (trieText, trieHeaders) = Self.normalized(trie, id: trieID, as: fastID)
                    trieText = trieText.replacingOccurrences(of: trieID, with: fastID)  // a batch's second id, `ID-2`
                    if fast.status != trie.status || fastHeaders != trieHeaders || fastText != trieText {
                        mismatches.append("case \(n): \(fast.status) \(fastHeaders) \(fast.text) vs \(trie.status) \(trieHeaders) \(trie.text)")
                    }
                }
                return (mismatches, statuses, counted)
            }
            #expect(mismatches.isEmpty, "\(mismatches)")
            #expect(
                Set(statuses) == [
                    "DELETE 200", "DELETE 400", "DELETE 401", "DELETE 403", "DELETE 404", "DELETE 412",
                    "POST 200", "POST 400", "POST 401", "POST 403", "POST 404", "POST 413",
                ], "\(statuses)")
            let after = try await Self.routeCounts(port: port, token: tokens.metrics)
            var delta: [String: Int] = [:]
            for (key, value) in after where value != before[key] { delta[key] = value - (before[key] ?? 0) }
            var expected: [String: Int] = [:]
            for status in counted { expected[status, default: 0] += 1 }
            #expect(delta == expected, "\(delta)")
        }
    }

    /// One connection's answers come in the order of its requests when routes on the event loop
    /// and routes of the router alternate, pipelined in one send: a read after a write sees it.
    /// A body over the limit is answered 413 and the connection goes on; a malformed request after
    /// a write gets the write's answer, then 400 and the close; a request with `Connection: close`
    /// is the last one taken (the write pipelined after it is never committed); clients that drop
    /// their connection mid-commit leave the hub serving.
    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await TestScene.run("pipe-route") { scene in
            let hub = try HubProcess.start(regions: scene.regions, dir: scene.directory, extra: ["--max-body-bytes", "1000"])
            defer { hub.child.stop() }
            #expect(await hub.ready(), "\(hub.log().suffix(800))")
            let port = hub.port
            @Sendable func put(_ id: String, _ body: String, close: Bool = false) -> String {
                "PUT /v1/contexts/\(id) HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n"
                    + (close ? "Connection: close\r\n" : "") + "\r\n\(body)"
            }
            @Sendable func get(_ path: String) -> String { "GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n" }
            let results = try await BlockingThread.value(name: "test-pipe") { () -> [String: [String]] in
                var results: [String: [String]] = [:]
                // Alternating routes, all in one send.
                let mixed = try HTTPBoundsTests.RawConnection(port: port)
                mixed.send(
                    put("p1", #"{"v":1}"#) + get("/v1/contexts/p1") + put("p1", #"{"v":2}"#) + get("/healthz")
                        + "DELETE /v1/contexts/p1 HTTP/1.1\r\nHost: x\r\n\r\n" + get("/v1/contexts/p1") + put("p2", "[3]")
                        + get("/v1/contexts/p2"))
                results["mixed"] = Self.answers(mixed, count: 8)
                // A body over the limit, then a read on the same connection.
                let big = try HTTPBoundsTests.RawConnection(port: port)
                big.send(put("p3", "\"" + String(repeating: "x", count: 5_000) + "\"") + get("/healthz"))
                results["big"] = Self.answers(big, count: 2)
                // A write, then bytes that are not HTTP.
                let bad = try HTTPBoundsTests.RawConnection(port: port)
                bad.send(put("p4", "4") + "NOT HTTP AT ALL\r\n\r\n")
                results["bad"] = Self.answers(bad, count: 3)
                // `Connection: close`, then a write that must not be taken.
                let closing = try HTTPBoundsTests.RawConnection(port: port)
                closing.send(put("p5", "5", close: true) + put("p6", "6"))
                results["close"] = Self.answers(closing, count: 3)
                // Writes whose clients are gone before the answer.
                for n in 0..<20 {
                    let gone = try HTTPBoundsTests.RawConnection(port: port)
                    gone.send(put("gone\(n)", "\(n)"))
                }
                return results
            }
            let mixed = results["mixed"] ?? []
            #expect(mixed.count == 8, "\(mixed)")
            let statuses = mixed.map { $0.prefix(12) }
            #expect(statuses == Array(repeating: "HTTP/1.1 200", count: 5) + ["HTTP/1.1 404"] + Array(repeating: "HTTP/1.1 200", count: 2), "\(mixed)")
            if mixed.count == 8 {
                #expect(mixed[0].contains(#""version":1"#) && mixed[1].contains(#""body":{"v":1}"#), "\(mixed)")
                #expect(mixed[2].contains(#""version":2"#) && mixed[3].contains(#"{"status":"ok"}"#), "\(mixed)")
                #expect(mixed[4].contains(#""version":3"#) && mixed[7].contains(#""body":[3]"#), "\(mixed)")
            }
            let big = results["big"] ?? []
            #expect(big.first?.hasPrefix("HTTP/1.1 413") == true && big.first?.contains("body.maxBytes") == true, "\(big)")
            #expect(big.count == 2 && big[1].hasPrefix("HTTP/1.1 200"), "\(big)")
            let bad = results["bad"] ?? []
            #expect(bad.count == 3 && bad[0].hasPrefix("HTTP/1.1 200") && bad[1].hasPrefix("HTTP/1.1 400") && bad[2] == "<closed>", "\(bad)")
            let closing = results["close"] ?? []
            #expect(closing.count == 2 && closing[0].hasPrefix("HTTP/1.1 200") && closing[1] == "<closed>", "\(closing)")
            let (p5, p6, health) = try await BlockingThread.value(name: "test-pipe-after") {
                let probe = HTTPProbe(port: port)
                return (try probe.get("/v1/contexts/p5").status, try probe.get("/v1/contexts/p6").status, try probe.get("/healthz").status)
            }
            #expect(p5 == 200 && p6 == 404 && health == 200, "p5 \(p5), p6 \(p6), healthz \(health)")
        }
    }

    /// The whole answers read from `connection`, up to `count`, each as its text; `<closed>` once
    /// the server closed the connection (and then no more).
    static func answers(_ connection: HTTPBoundsTests.RawConnection, count: Int) -> [String] {
        var answers: [String] = []
        var pending: [UInt8] = []
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(connection.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while answers.count < count {
            // Take every whole answer in `pending`.
            while let end = Self.answerEnd(pending) {
                answers.append(String(decoding: pending[0..<end], as: UTF8.self))
                pending.removeFirst(end)
                if answers.count == count { return answers }
            }
            let read = recv(connection.fd, &buffer, buffer.count, 0)
            if read <= 0 {
                answers.append("<closed>")
                return answers
            }
            pending += buffer[0..<read]
        }
        return answers
    }

    /// Where the first whole answer in `bytes` ends (head and `Content-Length` bytes), if it is there.
    static func answerEnd(_ bytes: [UInt8]) -> Int? {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard bytes.count >= 4, let headEnd = (0...(bytes.count - 4)).first(where: { Array(bytes[$0..<$0 + 4]) == separator }) else {
            return nil
        }
        let head = String(decoding: bytes[0..<headEnd], as: UTF8.self)
        let length = head.components(separatedBy: "\r\n")
            .first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
        let end = headEnd + 4 + length
        return bytes.count >= end ? end : nil
    }

    /// `pane_http_requests_total` of the write routes, by `METHOD status`.
    static func routeCounts(port: Int, token: String) async throws -> [String: Int] {
        let text = try await BlockingThread.value(name: "test-route-metrics") { try HTTPProbe(port: port, token: token).get("/metrics").text }
        var counts: [String: Int] = [:]
        for line in text.split(separator: "\n")
        where line.hasPrefix("pane_http_requests_total{route=\"/v1/contexts/{id}\"") || line.hasPrefix("pane_http_requests_total{route=\"/v1/batch\"") {
            guard let method = line.firstMatch(of: /method="([A-Z]+)"/)?.1, let status = line.firstMatch(of: /status="([0-9]+)"/)?.1,
                let value = line.split(separator: " ").last.flatMap({ Double($0) })
            else { continue }
            counts["\(method) \(status)", default: 0] += Int(value)
        }
        return counts
    }

    /// Writes `versions[n]` versions of `f<n>` and of `t<n>`: the contexts of case `n` on each path.
    static func writeVersions(port: Int, token: String, of versions: [Int]) async throws {
        try await BlockingThread.value(name: "test-route-setup") {
            for (n, count) in versions.enumerated() where count > 0 {
                for id in ["f\(n)", "t\(n)"] {
                    for _ in 0..<count {
                        let setup = try HTTPProbe(port: port, token: token).request("PUT", "/v1/contexts/\(id)", body: Array("0".utf8))
                        guard setup.status == 200 else { throw TestFailure("setup of \(id): \(setup.status) \(setup.text)") }
                    }
                }
            }
        }
    }
}
