import Foundation
import GRDB
import PaneCore
import Testing

@testable import PaneLoadtest

/// Runs scenarios against real processes: the `pane` binary (PANE_BIN, or .build/debug/pane)
/// and a private redis-server that the runner starts itself.
@Suite(.serialized) struct ScenarioRunTests {
    struct Missing: Error, CustomStringConvertible { let description: String }

    static func paneBinary() throws -> String {
        if let path = ProcessInfo.processInfo.environment["PANE_BIN"] { return path }
        let guess = FileManager.default.currentDirectoryPath + "/.build/debug/pane"
        guard FileManager.default.isExecutableFile(atPath: guess) else {
            throw Missing(description: "pane binary not found: set PANE_BIN or run `bash ops/test.sh`")
        }
        return guess
    }

    static var scenarioFolder: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../loadtest/scenarios").standardized.path
    }

    @Test func smokePasses() throws {
        let scenario = try Scenario.load(path: "\(Self.scenarioFolder)/smoke.json")
        let started = Date()
        let runner = ScenarioRunner(scenario: scenario, paneBinary: try Self.paneBinary()) { _ in }
        runner.showProgress = false
        let report = try runner.run()
        let seconds = Date().timeIntervalSince(started)
        #expect(report.verdict == "PASS", "\(report.problems) \(report.differences)")
        #expect(report.converged)
        #expect(report.writes > 1_500)
        #expect(report.replicas.count == 2)
        #expect(report.replicas.allSatisfy { $0.applied == report.writes })
        #expect(report.latencyMs.count == UInt64(2 * report.writes))
        #expect(seconds < 30, "smoke took \(seconds) s")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("pane-smoke-report-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let paths = try ReportWriter.write(report, to: out)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: paths[0]))) as? [String: Any]
        for key in ["scenario", "writes", "publishRate", "replicas", "latencyMs", "converged", "deadLetters", "faults"] {
            #expect(json?[key] != nil, "report.json lacks \(key)")
        }
    }

    /// Deletes a row in one replica after quiescence: the verdict must be FAIL and name the row.
    @Test func tamperedReplicaFails() throws {
        var scenario = Scenario(name: "tamper", regions: [try Region("r01")], replicasPerRegion: 2, contexts: 50, writeRate: .perSecond(500), totalWrites: 300)
        scenario.quiescenceSeconds = 20
        let runner = ScenarioRunner(scenario: scenario, paneBinary: try Self.paneBinary()) { _ in }
        runner.showProgress = false
        let deleted = Deleted()
        runner.afterQuiescence = { files in
            guard let file = files.last else { return }
            let db = try DatabaseQueue(path: file.path)
            let id = try db.write { db in
                try String.fetchOne(db, sql: "DELETE FROM contexts WHERE id = (SELECT min(id) FROM contexts) RETURNING id")
            }
            deleted.set(file.label, id ?? "")
        }
        let report = try runner.run()
        defer { try? FileManager.default.removeItem(atPath: runner.workDirectory) }
        let (label, id) = deleted.get()
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

/// What the tamper hook deleted, handed back to the test.
final class Deleted: @unchecked Sendable {
    private let lock = NSLock()
    private var value = ("", "")
    func set(_ label: String, _ id: String) { lock.withLock { value = (label, id) } }
    func get() -> (String, String) { lock.withLock { value } }
}
