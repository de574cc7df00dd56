import Foundation
import PaneApp
import PaneCore
import PaneRuntime
import PaneTestKit
import Testing

/// The hub's writer reports its commits: how many, how many writes they held, and how long each
/// took (`pane_hub_commits_total`, `pane_hub_committed_writes_total`,
/// `pane_hub_commit_duration_seconds`).
@Suite struct HubCommitMetricsTests {
    /// The value of an unlabelled series in a scrape; nil when it is absent.
    static func value(_ name: String, in scrape: String) -> Double? {
        for line in scrape.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1))
        }
        return nil
    }

    /// A real hub: 16 concurrent PUTs, a refused conditional PUT and a batch of 5. Every accepted
    /// write is counted once, the refused one not at all; the concurrent PUTs share commits (at
    /// most one commit per request), and the duration histogram has one sample per commit.
    @Test func commitsCountEveryAcceptedWriteOnce() async throws {
        try await TestScene.run("commit-metrics") { scene in
            let hub = try HubProcess.start(regions: scene.regions, dir: scene.directory)
            defer { hub.child.stop() }
            #expect(await hub.ready(), "\(hub.log().suffix(800))")
            let port = hub.port
            let before = try hub.probe().get("/metrics").text
            #expect(Self.value("pane_hub_committed_writes_total", in: before) ?? 0 == 0, "no write yet")

            try await withThrowingTaskGroup(of: Int.self) { group in
                for n in 0..<16 {
                    group.addTask {
                        try await BlockingThread.value(name: "test-commit-\(n)") {
                            try HTTPProbe(port: port).request("PUT", "/v1/contexts/cm\(n)", body: Array("{\"n\":\(n)}".utf8)).status
                        }
                    }
                }
                for try await status in group { #expect(status == 200) }
            }
            let refused = try hub.probe().request("PUT", "/v1/contexts/cm0", body: Array("1".utf8), headers: ["If-Match": "\"9\""])
            #expect(refused.status == 412, "\(refused.text)")
            let batch = try hub.probe().request(
                "POST", "/v1/batch", body: Array(("[" + (0..<5).map { #"{"op":"put","id":"cb\#($0)","body":\#($0)}"# }.joined(separator: ",") + "]").utf8))
            #expect(batch.status == 200, "\(batch.text)")

            let scrape = try hub.probe().get("/metrics").text
            let commits = try #require(Self.value("pane_hub_commits_total", in: scrape), "\(scrape)")
            #expect(Self.value("pane_hub_committed_writes_total", in: scrape) == 21, "16 PUTs and 5 batch operations; the refused PUT is none")
            #expect(commits >= 2 && commits <= 17, "at most one commit per request, at least one for the PUTs and one for the batch: \(commits)")
            #expect(Self.value("pane_hub_commit_duration_seconds_count", in: scrape) == commits)
            #expect((Self.value("pane_hub_commit_duration_seconds_sum", in: scrape) ?? 0) > 0)
            #expect(scrape.contains("pane_hub_commit_duration_seconds_bucket{le=\"0.0001\"}"), "the catalog's buckets")
        }
    }
}
