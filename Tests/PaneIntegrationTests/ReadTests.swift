import Foundation
import PaneApp
import PaneCore
import PaneHub
import PaneRedis
import PaneSpoke
import PaneStore
import PaneTestKit
import Testing

@Suite struct ReadTests {
    /// Writes through the hub's HTTP API, reads through a spoke's: versions, ETags, 304s, 404s,
    /// freshness headers, pagination, and clear 400s for bad input.
    @Test func hubWritesAndSpokeReadsOverHTTP() async throws {
        try await TestScene.run("reads", regions: ["reads", "other"]) { scene in
            let regions = scene.regions
            let hubProcess = try HubProcess.start(regions: regions, dir: scene.directory, extra: ["--max-body-bytes", "1000"])
            defer { hubProcess.child.stop() }
            let spoke = try scene.spoke("a")
            let hub = hubProcess.probe()
            #expect(await hubProcess.ready())
            #expect(await eventually(20) { (try? spoke.probe().get("/readyz").status) == 200 })

            func put(_ id: String, _ body: String, query: String = "") throws -> HTTPProbe.Reply {
                try hub.request("PUT", "/v1/contexts/\(id)\(query)", body: Array(body.utf8))
            }
            for i in 1...5 { #expect(try put("a%2F\(i)", #"{"i":\#(i)}"#).status == 200) }
            #expect(try put("b%2F1", "[true]").status == 200)
            #expect(try put("p%2541x", "1").text.hasPrefix(#"{"id":"p%41x","version":1,"index":"p1."#))
            let v3 = try put("a%2F1", #"{"i":"latest"}"#)
            #expect(v3.status == 200)
            #expect(v3.text.hasPrefix(#"{"id":"a/1","version":2,"index":"p1."#))
            #expect(v3.header("pane-index")?.hasPrefix("p1.") == true)
            #expect(try hub.request("DELETE", "/v1/contexts/a%2F3").text.hasPrefix(#"{"id":"a/3","version":2,"index":"p1."#))
            #expect(try hub.request("DELETE", "/v1/contexts/a%2F3").status == 404)
            #expect(try put("only-other", "1", query: "?regions=\(regions[1].name)").status == 200)
            let lastSeq = try HubStore(path: hubProcess.db, regions: regions).lastSeq(region: regions[0])

            let probe = spoke.probe()
            #expect(await eventually(20) { (try? probe.get("/v1/contexts/a%2F1").header("etag")) == "\"2\"" })
            let reply = try probe.get("/v1/contexts/a%2F1")
            #expect(reply.status == 200)
            #expect(reply.text.hasPrefix(#"{"id":"a/1","version":2,"body":{"i":"latest"},"updatedAt":"20"#))
            #expect(reply.header("pane-contact-age-ms").flatMap(Int.init) != nil)
            #expect(await eventually(10) { (try? probe.get("/v1/contexts/a%2F1").header("pane-replica-seq")).flatMap { UInt64($0) } == lastSeq })
            #expect(try probe.get("/v1/contexts/a%2F1", headers: ["If-None-Match": "\"2\""]).status == 304)
            #expect(try probe.get("/v1/contexts/a%2F1", headers: ["If-None-Match": "\"1\""]).status == 200)
            #expect(try probe.get("/v1/contexts/a%2F1", headers: ["If-None-Match": "W/\"2\""]).status == 304, "a weak tag matches")
            #expect(try probe.get("/v1/contexts/a%2F1", headers: ["If-None-Match": "\"7\", W/\"2\""]).status == 304, "a list")
            #expect(try probe.get("/v1/contexts/a%2F1", headers: ["If-None-Match": "W/\"1\""]).status == 200)
            #expect(try probe.get("/v1/contexts/a%2F3").status == 404)
            #expect(try probe.get("/v1/contexts/nope").status == 404)
            #expect(try probe.get("/v1/contexts/only-other").status == 404, "a context sent to another region only")

            #expect(try probe.get("/v1/contexts?prefix=a/&limit=2").text == #"{"items":[{"id":"a/1","version":2},{"id":"a/2","version":1}],"next":"a/2"}"#)
            #expect(try probe.get("/v1/contexts?prefix=a/&limit=2&after=a/2").text == #"{"items":[{"id":"a/4","version":1},{"id":"a/5","version":1}],"next":"a/5"}"#)
            #expect(try probe.get("/v1/contexts?prefix=a/&limit=2&after=a/5").text == #"{"items":[],"next":null}"#)
            #expect(try probe.get("/v1/contexts").text.contains(#"{"id":"b/1","version":1}"#))
            // Query values are percent-decoded once: `p%2541` is the prefix `p%41`, not `pA`.
            #expect(try probe.get("/v1/contexts?prefix=p%2541").text == #"{"items":[{"id":"p%41x","version":1}],"next":null}"#)

            // Bad input: a clear 400 that names the input; nothing accepted is lost.
            let badLimit = try probe.get("/v1/contexts?limit=0")
            #expect(badLimit.status == 400 && badLimit.text.contains("limit"))
            let badID = try probe.get("/v1/contexts/has%20space")
            #expect(badID.status == 400 && badID.text.contains("context id"))
            let notJSON = try put("x", "{oops")
            #expect(notJSON.status == 400 && notJSON.text.contains("not valid JSON"))
            let tooBig = try put("x", "\"" + String(repeating: "y", count: 2_000) + "\"")
            #expect(tooBig.status == 413 && tooBig.text.contains("body.maxBytes"), "\(tooBig.status) \(tooBig.text)")
            let badRegion = try put("x", "1", query: "?regions=mars-1")
            #expect(badRegion.status == 400 && badRegion.text.contains("mars-1"))
            let longID = try put(String(repeating: "z", count: 300), "1")
            #expect(longID.status == 400 && longID.text.contains("context id"))
            #expect(try hub.get("/v1/contexts/a%2F1").text.contains(#""version":2"#))
            #expect(try hub.get("/v1/contexts/x").status == 404)
            #expect(try hub.get("/metrics").text.contains("pane_hub_published_total"))
            // The gauges an operator alerts on (retention writes the hub's every round).
            let region = regions[0].name
            #expect(await eventually(15) {
                let text = (try? hub.get("/metrics").text) ?? ""
                return text.contains("pane_hub_last_seq{region=\"\(region)\"}") && text.contains("pane_hub_outbox_backlog{region=\"\(region)\"} 0")
            })
            #expect(try hub.get("/metrics").text.contains("pane_build_info{"))
            #expect(try hub.get("/metrics").text.contains("pane_hub_publish_conflicts_total{region=\"\(region)\"} 0"), "counters start at 0")
            #expect(try probe.get("/metrics").text.contains("kind=\"permanent\"} 0"), "counters start at 0")
            #expect(await eventually(15) {
                let text = (try? probe.get("/metrics").text) ?? ""
                return text.contains("pane_spoke_watermark{") && text.contains("pane_spoke_lag_seqs{") && text.contains("pane_spoke_stale_contexts{")
            })

            #expect(spoke.child.stop() == 0)
            #expect(hubProcess.child.stop() == 0)
        }
    }
}
