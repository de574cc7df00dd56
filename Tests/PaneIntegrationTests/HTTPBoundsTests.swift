import Foundation
import PaneApp
import PaneCore
import PaneRuntime
import PaneTestKit
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 10, item 4: a server takes at most `http.maxConnections` connections, reads a request
/// whole within `http.requestReadTimeoutMs`, and serves `HEAD` for its `GET` routes.
@Suite struct HTTPBoundsTests {
    /// A raw TCP connection to a loopback port, blocking, for a test thread.
    final class RawConnection {
        let fd: Int32

        init(port: Int) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else {
                close(fd)
                throw TestFailure("connect: errno \(errno)")
            }
        }

        deinit { close(fd) }

        /// Sends `text`; false when the server has closed the connection.
        @discardableResult
        func send(_ text: String) -> Bool {
            text.withCString { Glibc.send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) } >= 0
        }

        /// What arrives within `seconds`, and whether the server closed the connection by then;
        /// returns after one whole answer (its head only, with `headOnly`).
        func read(seconds: Double, headOnly: Bool = false) -> (text: String, closed: Bool) {
            var timeout = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var answer: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = recv(fd, &buffer, buffer.count, 0)
                if count == 0 { return (String(decoding: answer, as: UTF8.self), true) }
                if count < 0 { return (String(decoding: answer, as: UTF8.self), errno == ECONNRESET) }
                answer += buffer[0..<count]
                // One whole answer without a body, or with its Content-Length read: stop there.
                let text = String(decoding: answer, as: UTF8.self)
                if let end = text.range(of: "\r\n\r\n") {
                    if headOnly { return (text, false) }
                    let length = text.components(separatedBy: "\r\n")
                        .first { $0.lowercased().hasPrefix("content-length:") }
                        .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                    if text.utf8.count - text[..<end.upperBound].utf8.count >= length { return (text, false) }
                }
            }
        }
    }

    @Test func extraConnectionsGet503AndAFreedSlotIsReused() async throws {
        try await TestScene.run("maxconn") { scene in
            let spoke = try scene.spoke("a", extra: ["--http-max-connections", "3"])
            #expect(await eventually(20) { (try? spoke.probe().get("/healthz").status) == 200 })
            let port = spoke.port
            let (refused, reused, lateRefusals) = try await BlockingThread.value(name: "test-maxconn") { () -> (String, String, Int) in
                // Three keep-alive connections fill the server (the probes above have closed
                // theirs): each has had an answer, so the server counts it, however busy the machine.
                var held: [RawConnection] = []
                var earlyRefusals = 0  // a probe's connection not yet seen closed by the server
                while held.count < 3 && earlyRefusals < 50 {
                    let connection = try RawConnection(port: port)
                    connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                    if connection.read(seconds: 10).text.hasPrefix("HTTP/1.1 200") {
                        held.append(connection)
                    } else {
                        earlyRefusals += 1
                        Thread.sleep(forTimeInterval: 0.2)
                    }
                }
                let fourth = try RawConnection(port: port)
                let answer = fourth.read(seconds: 10)
                let refused = (text: answer.text, closed: answer.closed || fourth.read(seconds: 3).closed)
                held.removeFirst()  // closes one
                // The server frees the slot once it has seen the close: until then a new
                // connection is refused too (counted, for the metric below).
                var lateRefusals = 0
                var reused = ""
                let deadline = Date().addingTimeInterval(20)
                repeat {
                    let fifth = try RawConnection(port: port)
                    fifth.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                    reused = fifth.read(seconds: 5).text
                    guard reused.hasPrefix("HTTP/1.1 503") else { break }
                    lateRefusals += 1
                    Thread.sleep(forTimeInterval: 0.2)
                } while Date() < deadline
                return (refused.text + (refused.closed ? "<closed>" : "<open>"), reused, earlyRefusals + lateRefusals)
            }
            #expect(refused.hasPrefix("HTTP/1.1 503") && refused.lowercased().contains("connection: close"), "\(refused)")
            #expect(refused.hasSuffix("<closed>"), "\(refused)")
            #expect(reused.hasPrefix("HTTP/1.1 200"), "\(reused)")
            #expect(await eventually(5) { spoke.log().contains("http connections refused") }, "\(spoke.log().suffix(800))")
            // The test's own connections were closed as it ended; until the server has seen that,
            // the metrics probe is refused too (and counted).
            var metrics = ""
            var probeRefusals = 0
            for _ in 0..<100 {
                let reply = try spoke.probe().get("/metrics")
                if reply.status != 503 {
                    metrics = reply.text
                    break
                }
                probeRefusals += 1
                try await Task.sleep(for: .milliseconds(200))
            }
            let lines = metrics.split(separator: "\n").filter { $0.contains("pane_http") }
            let refusals = 1 + lateRefusals + probeRefusals
            #expect(metrics.contains("pane_http_connections_refused_total{server=\"pane-spoke\"} \(refusals)"), "\(lines)")
            #expect(metrics.contains("pane_http_connections{server=\"pane-spoke\"}"))
        }
    }

    @Test func aRequestTrickledSlowerThanTheDeadlineIsCut() async throws {
        try await TestScene.run("readdeadline") { scene in
            let hub = try HubProcess.start(
                regions: scene.regions, dir: scene.directory, extra: ["--http-request-read-timeout-ms", "1200", "--http-idle-timeout-ms", "30000"])
            defer { hub.child.stop() }
            #expect(await hub.ready())
            let port = hub.port
            let (headers, body, normal) = try await BlockingThread.value(name: "test-trickle") { () -> (Double?, Double?, String) in
                /// Sends `text` a few bytes every 200 ms (well inside the idle timeout); the
                /// seconds until the server closed the connection, nil if it never did in 8 s.
                func trickle(_ text: String) throws -> Double? {
                    let conn = try RawConnection(port: port)
                    let started = Date()
                    var rest = Substring(text)
                    while Date().timeIntervalSince(started) < 8 {
                        let piece = rest.prefix(2)
                        rest = rest.dropFirst(2)
                        if !piece.isEmpty && !conn.send(String(piece)) { return Date().timeIntervalSince(started) }
                        let answer = conn.read(seconds: 0.2)
                        if answer.closed { return Date().timeIntervalSince(started) }
                    }
                    return nil
                }
                let headers = try trickle("GET /v1/contexts/k HTTP/1.1\r\nHost: x\r\nX-Padding: " + String(repeating: "a", count: 200) + "\r\n\r\n")
                let body = try trickle("PUT /v1/contexts/k HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + String(repeating: "1", count: 100))
                let conn = try RawConnection(port: port)
                conn.send("PUT /v1/contexts/k HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\n{\"a\":1}")
                return (headers, body, conn.read(seconds: 5).text)
            }
            #expect(headers.map { $0 >= 1.0 && $0 < 4 } == true, "trickled headers cut after \(String(describing: headers)) s")
            #expect(body.map { $0 >= 1.0 && $0 < 4 } == true, "a trickled body cut after \(String(describing: body)) s")
            #expect(normal.hasPrefix("HTTP/1.1 200"), "\(normal)")
            let metrics = try hub.probe().get("/metrics").text
            let lines = metrics.split(separator: "\n").filter { $0.contains("pane_http") }
            #expect(metrics.contains("pane_http_request_read_timeouts_total{server=\"pane-hub\"} 2"), "\(lines)")
            #expect(hub.log().contains("a request was not read in time"))
        }
    }

    /// One timer per connection, not one per request (issue 13, item 2): a request that starts
    /// while the timer set for an earlier, finished request is still pending gets its own full
    /// deadline, and back-to-back requests on one connection are never cut.
    @Test func theDeadlineCountsFromEachRequestsFirstByteOnAKeptAliveConnection() async throws {
        try await TestScene.run("readdeadline2") { scene in
            let hub = try HubProcess.start(
                regions: scene.regions, dir: scene.directory, extra: ["--http-request-read-timeout-ms", "1200", "--http-idle-timeout-ms", "30000"])
            defer { hub.child.stop() }
            #expect(await hub.ready())
            let port = hub.port
            let (answers, cutAfter) = try await BlockingThread.value(name: "test-keepalive-deadline") { () -> ([String], Double?) in
                let conn = try RawConnection(port: port)
                // Whole requests every 150 ms for 2 s: longer than the deadline, never cut.
                var answers: [String] = []
                let started = Date()
                while Date().timeIntervalSince(started) < 2 {
                    conn.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                    answers.append(conn.read(seconds: 2).text)
                    Thread.sleep(forTimeInterval: 0.15)
                }
                // A whole request, then 0.8 s later a trickled one: the timer the first one set
                // fires 0.4 s into the second, which must still get its 1.2 s.
                conn.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                answers.append(conn.read(seconds: 2).text)
                Thread.sleep(forTimeInterval: 0.8)
                let trickleStart = Date()
                var rest = Substring("GET /v1/contexts/k HTTP/1.1\r\nHost: x\r\nX-Padding: " + String(repeating: "a", count: 200) + "\r\n\r\n")
                while Date().timeIntervalSince(trickleStart) < 8 {
                    let piece = rest.prefix(2)
                    rest = rest.dropFirst(2)
                    if !piece.isEmpty && !conn.send(String(piece)) { return (answers, Date().timeIntervalSince(trickleStart)) }
                    if conn.read(seconds: 0.1).closed { return (answers, Date().timeIntervalSince(trickleStart)) }
                }
                return (answers, nil)
            }
            #expect(answers.count >= 10 && answers.allSatisfy { $0.hasPrefix("HTTP/1.1 200") }, "\(answers.count) answers: \(answers.suffix(2))")
            #expect(cutAfter.map { $0 >= 1.0 && $0 < 4 } == true, "the trickled request was cut after \(String(describing: cutAfter)) s")
            let metrics = try hub.probe().get("/metrics").text
            #expect(metrics.contains("pane_http_request_read_timeouts_total{server=\"pane-hub\"} 1"))
        }
    }

    @Test func headIsServedForGetRoutesAndSIGTERMStillStopsPromptly() async throws {
        try await TestScene.withHub("head") { scene, hub in
            let spoke = try scene.spoke("a")
            _ = try await hub.store.put(id: try ContextID("k"), body: Array(#"{"plan":"pro"}"#.utf8))
            #expect(await eventually(30) { (try? spoke.probe().get("/v1/contexts/k").status) == 200 })
            let get = try spoke.probe().get("/v1/contexts/k")
            let head = try spoke.probe().request("HEAD", "/v1/contexts/k")
            #expect(head.status == 200 && head.body.isEmpty)
            #expect(head.header("content-length") == String(get.body.count) && head.header("etag") == get.header("etag"))
            #expect(head.header("pane-index") != nil)
            let missing = try spoke.probe().request("HEAD", "/v1/contexts/nope")
            #expect(missing.status == 404 && missing.body.isEmpty)
            #expect(try spoke.probe().request("HEAD", "/healthz").status == 200)
            #expect(try spoke.probe().request("HEAD", "/v1/contexts?prefix=k").status == 200)
            // Keep-alive connections that served HEAD stay open; SIGTERM still ends the spoke at once.
            let port = spoke.port
            let kept = try await BlockingThread.value(name: "test-head") { () -> [String] in
                let conn = try RawConnection(port: port)
                var answers: [String] = []
                for _ in 0..<3 {
                    conn.send("HEAD /v1/contexts/k HTTP/1.1\r\nHost: x\r\n\r\n")
                    answers.append(conn.read(seconds: 3, headOnly: true).text)
                }
                let started = Date()
                let status = spoke.child.stop(signal: SIGTERM, timeout: 15)
                answers.append("exit \(status) after \(Date().timeIntervalSince(started))")
                return answers
            }
            #expect(kept.prefix(3).allSatisfy { $0.hasPrefix("HTTP/1.1 200") && $0.hasSuffix("\r\n\r\n") }, "\(kept)")
            let stopped = try #require(kept.last)
            #expect(stopped.hasPrefix("exit 0 after "), "\(stopped)")
            #expect((Double(stopped.dropFirst("exit 0 after ".count)) ?? 99) < 5, "\(stopped)")
        }
    }
}
