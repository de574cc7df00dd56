import ArgumentParser
import Foundation
import PaneLoadtest

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a scenario against real processes; print PASS or FAIL and write the report.",
        discussion: "Scenario files are described in loadtest/README.md. Exits 1 on FAIL, 2 on a bad scenario.")

    @Argument(help: "The scenario file, e.g. loadtest/scenarios/smoke.json.")
    var scenario: String

    @Option(help: "Folder for report.json, report.md and report.svg (default loadtest/out/<scenario>).")
    var out: String?

    @Option(help: "The pane binary (default: the one next to pane-loadtest).")
    var pane: String?

    @Option(help: "Point reads per second sent to the first spoke while the writes run; their latency goes into the report (0: none).")
    var readRate: Double = 0

    @Option(help: "Keep-alive connections (threads) sending those reads.")
    var readConnections = 4

    @Flag(help: "Keep the processes' files (databases, logs) after a PASS too.")
    var keep = false

    @Flag(help: "No live progress line.")
    var quiet = false

    func run() throws {
        let loaded: Scenario
        do {
            loaded = try Scenario.load(path: scenario)
        } catch {
            FileHandle.standardError.write(Data("pane-loadtest: \(error)\n".utf8))
            throw ExitCode(2)
        }
        guard readRate >= 0, readRate.isFinite, (1...256).contains(readConnections) else {
            FileHandle.standardError.write(Data("pane-loadtest: --read-rate is 0 or more reads/s, --read-connections 1 to 256\n".utf8))
            throw ExitCode(2)
        }
        let binary = pane ?? ScenarioRunner.siblingPaneBinary()
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            FileHandle.standardError.write(Data("pane-loadtest: no pane executable at \(binary); build it or pass --pane PATH\n".utf8))
            throw ExitCode(2)
        }
        let runner = ScenarioRunner(scenario: loaded, paneBinary: binary) { line in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        runner.command = (["pane-loadtest"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
        runner.readRate = readRate
        runner.readConnections = readConnections
        runner.keepFiles = keep
        runner.showProgress = !quiet
        let report = try runner.run()
        let folder = out ?? "loadtest/out/\(loaded.name)"
        let paths = try ReportWriter.write(report, to: folder)
        print(report.markdown)
        print("wrote \(paths.joined(separator: ", "))")
        if report.verdict != "PASS" {
            print("FAIL: \(report.differenceCount) differences; \(report.problems.joined(separator: "; "))")
            for difference in report.differences.prefix(20) { print("  \(difference)") }
            print("files kept in \(runner.workDirectory)")
            throw ExitCode(1)
        }
        print("PASS")
    }
}
