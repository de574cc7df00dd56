import Foundation
import GRDB
import PaneCore
import PaneRuntime
import PaneTestKit
import Testing

@testable import PaneLoadtest

/// Runs scenarios against real processes: the `pane` binary (PANE_BIN, or .build/debug/pane)
/// and a private redis-server that the runner starts itself. Each run blocks for many seconds, so
/// it runs on a thread of its own, not on the cooperative pool that other tests need.
@Suite(.serialized) struct ScenarioRunTests {
    @Test func smokePasses() async throws {
        let scenario = try Scenario.load(path: "\(TestEnv.scenarioFolder)/smoke.json")
        let binary = try TestEnv.paneBinary()
        let report = try await BlockingThread.value(name: "test-smoke") {
            let runner = ScenarioRunner(scenario: scenario, paneBinary: binary) { _ in }
            runner.showProgress = false
            runner.readRate = 200  // point reads at the first spoke while the writes run
            runner.readConnections = 2
            return try runner.run()
        }
        #expect(report.verdict == "PASS", "\(report.problems) \(report.differences)")
        let reads = try #require(report.readLoad)
        #expect(reads.answered > 100 && reads.errors == 0, "\(reads)")
        #expect(reads.latencyMs.count == UInt64(reads.answered) && reads.latencyMs.p50 > 0 && reads.latencyMs.p99 >= reads.latencyMs.p50)
        #expect(reads.target == "r01/a GET /v1/contexts/{id}" || reads.target.hasSuffix("GET /v1/contexts/{id}"), "\(reads.target)")
        #expect(report.markdown.contains("| read latency p50 / p90 / p99 / p99.9 / max |"))
        #expect(report.converged)
        #expect(report.writes > 1_500)
        #expect(report.replicas.count == 2)
        #expect(report.replicas.allSatisfy { $0.applied == report.writes })
        #expect(report.latencyMs.count == UInt64(2 * report.writes))
        // The writers' view: one answer per accepted single-context write, measured two ways.
        let answers = try #require(report.writeAnswerMs)
        let service = try #require(report.writeServiceMs)
        #expect(answers.count == UInt64(report.writes) && service.count == answers.count, "\(answers) \(service) \(report.writes)")
        #expect(service.p50 > 0 && answers.p99 >= service.p99, "from schedule \(answers), from send \(service)")
        #expect(report.markdown.contains("| write answer p50 / p90 / p99 / p99.9 / max, from send |"))
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("pane-smoke-report-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let paths = try ReportWriter.write(report, to: out)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: paths[0]))) as? [String: Any]
        for key in ["scenario", "writes", "publishRate", "replicas", "latencyMs", "converged", "deadLetters", "faults", "readLoad", "writeServiceMs"] {
            #expect(json?[key] != nil, "report.json lacks \(key)")
        }
    }

    /// The runner on a private Redis Cluster (issue 14): a live reshard, then `kill -9` of a
    /// master while writes flow. Every replica must equal the hub, and both faults must report ok:
    /// the killed master's replica promoted, new entries applied, every watermark past the seq at
    /// the death.
    @Test func clusterWithReshardAndKilledMasterPasses() async throws {
        var scenario = Scenario(
            name: "cluster-test", regions: try ["ca", "cb", "cc", "cd"].map { try Region("ltc-\($0)-\(UUID().uuidString.prefix(4).lowercased())") },
            contexts: 300, writeRate: .perSecond(300), deleteShare: 0.05, durationSeconds: 9,
            faults: [Fault(kind: .reshard, at: 2), Fault(kind: .killMaster, at: 4, seconds: 45)])
        scenario.redisCluster = Scenario.RedisClusterPlan(masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1_000)
        scenario.quiescenceSeconds = 60
        let cluster = scenario
        let binary = try TestEnv.paneBinary()
        let report = try await BlockingThread.value(name: "test-cluster-run") {
            let runner = ScenarioRunner(scenario: cluster, paneBinary: binary) { _ in }
            runner.showProgress = false
            return try runner.run()  // its files stay after a FAIL, for the post-mortem
        }
        #expect(report.verdict == "PASS", "\(report.problems) \(report.differences) \(report.faults)")
        #expect(report.faults.map(\.kind) == ["reshard", "killMaster"])
        #expect(report.faults.filter { !$0.ok }.isEmpty, "\(report.faults)")
        #expect(report.faults.first?.detail.contains("moved region") == true)
        #expect(report.faults.last?.detail.contains("promoted after") == true)
        #expect(report.processes.filter { $0.name.hasPrefix("redis-") }.count == 6)
    }

    /// Deletes a row in one replica after quiescence: the verdict must be FAIL and name the row.
    @Test func tamperedReplicaFails() async throws {
        var scenario = Scenario(name: "tamper", regions: [try Region("r01")], replicasPerRegion: 2, contexts: 50, writeRate: .perSecond(500), totalWrites: 300)
        scenario.quiescenceSeconds = 20
        let tamper = scenario
        let binary = try TestEnv.paneBinary()
        let deleted = Locked((label: "", id: ""))
        let (report, workDirectory) = try await BlockingThread.value(name: "test-tamper") {
            let runner = ScenarioRunner(scenario: tamper, paneBinary: binary) { _ in }
            runner.showProgress = false
            runner.afterQuiescence = { files in
                guard let file = files.last else { return }
                let db = try DatabaseQueue(path: file.path)
                let id = try db.write { db in
                    try String.fetchOne(db, sql: "DELETE FROM contexts WHERE id = (SELECT min(id) FROM contexts) RETURNING id")
                }
                deleted.value = (file.label, id ?? "")
            }
            return (try runner.run(), runner.workDirectory)
        }
        defer { try? FileManager.default.removeItem(atPath: workDirectory) }
        let (label, id) = deleted.value
        #expect(!id.isEmpty)
        #expect(report.verdict == "FAIL")
        #expect(!report.converged)
        #expect(report.differenceCount == 1)
        #expect(report.differences.first?.replica == label)
        #expect(report.differences.first?.id == id)
        #expect(report.differences.first?.found == nil)
        #expect(report.markdown.contains("## Why FAIL"))
    }
}
