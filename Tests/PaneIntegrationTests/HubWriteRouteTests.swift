import Foundation
import PaneApp
import PaneCore
import PaneRuntime
import PaneTestKit
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The hub's `PUT /v1/contexts/{id}` is matched before the router's trie (``SegmentRouter``, as
/// the spoke's point read is), and its connections run on their event loops: both must leave
/// every answer as it was.
@Suite struct HubWriteRouteTests {
    /// The route matched before the trie (`/v1/contexts/{id}`) and the same route through the
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
            try await BlockingThread.value(name: "test-put-setup") {
                for (n, c) in cases.enumerated() where c.existing > 0 {
                    for id in ["f\(n)", "t\(n)"] {
                        for _ in 0..<c.existing {
                            let setup = try HTTPProbe(port: port, token: tokens.write).request("PUT", "/v1/contexts/\(id)", body: Array("0".utf8))
                            guard setup.status == 200 else { throw TestFailure("setup of \(id): \(setup.status) \(setup.text)") }
                        }
                    }
                }
            }
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
}
