import Foundation
import PaneApp
import PaneCore
import PaneHTTP
import PaneTestKit
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Requests no route takes get a JSON answer that says what exists: `404` listing the routes,
/// `405` with `Allow` for a known path, and a `%2F` hint for an id with a raw `/`.
@Suite struct RouteFallbackTests {
    static let routes: [(method: String, path: String)] = [
        ("GET", "/healthz"), ("PUT", "/v1/contexts/:id"), ("DELETE", "/v1/contexts/:id"), ("GET", "/v1/contexts/:id"),
        ("POST", "/v1/regions/{region}/republish"),
    ]

    @Test func theTableDecides() {
        let table = RouteTable(routes: Self.routes)
        #expect(
            table.miss(method: "POST", path: "/v1/contexts/a")
                == .methodNotAllowed(allowed: ["DELETE", "GET", "PUT"], message: "POST is not allowed on /v1/contexts/a: use DELETE, GET, PUT"))
        #expect(table.miss(method: "GET", path: "/v1/regions/eu/republish") == .methodNotAllowed(allowed: ["POST"], message: "GET is not allowed on /v1/regions/eu/republish: use POST"))
        guard case .notFound(let unknown) = table.miss(method: "GET", path: "/nope") else { Issue.record("not a 404"); return }
        #expect(unknown.contains("no route for GET /nope") && unknown.contains("PUT /v1/contexts/{id}") && unknown.contains("GET /healthz"), "\(unknown)")
        guard case .notFound(let slash) = table.miss(method: "GET", path: "/v1/contexts/tenant/acme") else { Issue.record("not a 404"); return }
        #expect(slash.contains("/v1/contexts/tenant%2Facme") && slash.contains("percent-encoded"), "\(slash)")
        guard case .notFound(let empty) = table.miss(method: "GET", path: "/v1/contexts/") else { Issue.record("not a 404"); return }
        #expect(!empty.contains("%2F"), "\(empty)")
    }

    @Test func theHubAnswers404And405() async throws {
        let dir = try TestEnv.directory("routes-hub")
        let region = try TestEnv.region("routes")
        defer { TestEnv.cleanUp([region]) }
        let hub = try HubProcess.start(regions: [region], dir: dir)
        defer { hub.child.stop(signal: SIGKILL) }
        #expect(await hub.ready(), "\(hub.log())")
        let probe = hub.probe()
        let notFound = try probe.get("/v2/nothing")
        #expect(notFound.status == 404)
        #expect(notFound.header("content-type") == "application/json")
        #expect(notFound.text.contains("no route for GET /v2/nothing") && notFound.text.contains("PUT /v1/contexts/{id}"), "\(notFound.text)")
        #expect(notFound.text.contains("GET /metrics"), "routes added after the API's are listed too: \(notFound.text)")
        let wrongMethod = try probe.request("POST", "/v1/contexts/tenant%2Facme", body: Array("{}".utf8))
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.header("allow") == "DELETE, GET, PUT", "\(wrongMethod.text)")
        #expect(wrongMethod.text.hasPrefix("{\"error\":"), "\(wrongMethod.text)")
        let slash = try probe.request("PUT", "/v1/contexts/tenant/acme", body: Array("{}".utf8))
        #expect(slash.status == 404)
        #expect(slash.text.contains("/v1/contexts/tenant%2Facme"), "\(slash.text)")
        // Known routes still answer as before.
        #expect(try probe.request("PUT", "/v1/contexts/tenant%2Facme", body: Array("{}".utf8)).status == 200)
        #expect(try probe.get("/v1/contexts/unknown-id").status == 404)
        #expect(!(try probe.get("/v1/contexts/unknown-id").text.contains("no route")))
    }

    @Test func theSpokeAnswers404And405() async throws {
        let dir = try TestEnv.directory("routes-spoke")
        let region = try TestEnv.region("routes")
        defer { TestEnv.cleanUp([region]) }
        let spoke = try SpokeProcess.start(region: region, replica: "a", db: "\(dir)/a.sqlite", dir: dir)
        defer { spoke.child.stop(signal: SIGKILL) }
        let probe = spoke.probe()
        #expect(await eventually(20) { (try? probe.get("/healthz").status) == 200 }, "\(spoke.log())")
        let put = try probe.request("PUT", "/v1/contexts/a", body: Array("{}".utf8))
        #expect(put.status == 405 && put.header("allow") == "GET", "\(put.status) \(put.text)")
        let slash = try probe.get("/v1/contexts/tenant/acme")
        #expect(slash.status == 404 && slash.text.contains("/v1/contexts/tenant%2Facme"), "\(slash.text)")
        let unknown = try probe.get("/nope")
        #expect(unknown.status == 404 && unknown.text.contains("GET /readyz") && unknown.text.contains("GET /v1/contexts"), "\(unknown.text)")
    }
}
