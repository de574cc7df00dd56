import ArgumentParser
import Foundation
import PaneLoadtest

@main
struct PaneLoadtestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pane-loadtest",
        abstract: "Measure Pane against real processes and the machine's own limits.",
        subcommands: [RunCommand.self, LimitsCommand.self, ReadsCommand.self, BootstrapCommand.self, WatchCommand.self]
    )
}

struct LimitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "limits",
        abstract: "Measure redis-benchmark XADD and raw SQLite upserts, then Pane's publish and apply rates, as ratios; then the spoke's reads against its /healthz.")

    @Option(help: "Writes to the hub (each fans out to every region).")
    var writes: Int = 100_000

    @Option(help: "Body size in bytes.")
    var bodyBytes: Int = 256

    @Option(help: "Regions to fan out to.")
    var regions: Int = 3

    @Option(help: "The hub stores' hub.durability: full or sync-before-publish.")
    var durability: String = "full"

    @Option(help: "Seconds of wrk load per read route and round; 0 skips the reads.")
    var readSeconds: Int = 5

    @Option(help: "Also publish and apply on a private Redis Cluster of this many masters (3-16), against the one server; 0: no cluster.")
    var clusterMasters: Int = 0

    @Option(help: "The pane binary the reads run (default: the one next to pane-loadtest).")
    var pane: String?

    @Option(help: "Write limits.json, limits.md, reads.json and reads.md into this folder.")
    var out: String?

    func validate() throws {
        guard (0...600).contains(readSeconds) else { throw ValidationError("--read-seconds must be 0-600, got \(readSeconds)") }
        guard (1...10_000_000).contains(writes) else { throw ValidationError("--writes must be 1-10000000, got \(writes)") }
        guard (2...1_048_576).contains(bodyBytes) else { throw ValidationError("--body-bytes must be 2-1048576, got \(bodyBytes)") }
        guard (1...32).contains(regions) else { throw ValidationError("--regions must be 1-32, got \(regions)") }
        guard clusterMasters == 0 || (3...16).contains(clusterMasters) else {
            throw ValidationError("--cluster-masters must be 0 or 3-16 (redis-cli --cluster create needs 3), got \(clusterMasters)")
        }
        guard Limits.durabilities.contains(durability) else {
            throw ValidationError("--durability must be full or sync-before-publish, got \(durability)")
        }
    }

    func run() throws {
        var limits = Limits(writes: writes, bodyBytes: bodyBytes, regions: regions)
        limits.durabilityName = durability
        limits.clusterMasters = clusterMasters
        let report = try limits.run { print($0) }
        print("")
        print(report.table)
        if let out { try writeReport(report, table: report.table, name: "limits", into: out) }
        if readSeconds > 0 {
            print("")
            try ReadsCommand.measure(ReadBenchmark(paneBinary: pane ?? ScenarioRunner.siblingPaneBinary(), seconds: readSeconds), out: out)
        }
    }
}

struct ReadsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reads",
        abstract: "Measure a spoke's point read and list page against its own /healthz with wrk, in rounds (also part of limits).")

    @Option(help: "Seconds of wrk load per route and round.")
    var seconds: Int = 5

    @Option(help: "Rounds; each route's median is reported.")
    var rounds: Int = 3

    @Option(help: "wrk connections.")
    var connections: Int = 16

    @Option(help: "The pane binary (default: the one next to pane-loadtest).")
    var pane: String?

    @Flag(help: "Run without a tokens file (for a pane binary from before tokens).")
    var withoutTokens = false

    @Option(help: "Write reads.json and reads.md into this folder.")
    var out: String?

    func validate() throws {
        guard (1...600).contains(seconds) else { throw ValidationError("--seconds must be 1-600, got \(seconds)") }
        guard (1...100).contains(rounds) else { throw ValidationError("--rounds must be 1-100, got \(rounds)") }
        guard (1...10_000).contains(connections) else { throw ValidationError("--connections must be 1-10000, got \(connections)") }
    }

    func run() throws {
        let benchmark = ReadBenchmark(paneBinary: pane ?? ScenarioRunner.siblingPaneBinary(), seconds: seconds, rounds: rounds, connections: connections, tokens: !withoutTokens)
        try Self.measure(benchmark, out: out)
    }

    static func measure(_ benchmark: ReadBenchmark, out: String?) throws {
        let report = try benchmark.run { print($0) }
        print("")
        print(report.table)
        if let out { try writeReport(report, table: report.table, name: "reads", into: out) }
    }
}

struct BootstrapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bootstrap",
        abstract: "Time a new replica's bootstrap from a snapshot, its peak memory, and anti-entropy traffic for 0, 1 and 100 differing buckets.")

    @Option(help: "Contexts in the hub.")
    var contexts: Int = 1_000_000

    @Option(help: "Body size in bytes.")
    var bodyBytes: Int = 256

    @Option(help: "The pane binary (default: the one next to pane-loadtest).")
    var pane: String?

    @Option(help: "Write bootstrap.json into this folder.")
    var out: String?

    func validate() throws {
        guard (1...50_000_000).contains(contexts) else { throw ValidationError("--contexts must be 1-50000000, got \(contexts)") }
        guard (2...1_048_576).contains(bodyBytes) else { throw ValidationError("--body-bytes must be 2-1048576, got \(bodyBytes)") }
    }

    func run() throws {
        let binary = pane ?? ScenarioRunner.siblingPaneBinary()
        let report = try BootstrapBenchmark(contexts: contexts, bodyBytes: bodyBytes, paneBinary: binary).run { print($0) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json = try encoder.encode(report)
        print(String(decoding: json, as: UTF8.self))
        if let out {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try json.write(to: URL(fileURLWithPath: "\(out)/bootstrap.json"))
        }
    }
}

struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Measure GET /v1/watch (commit-to-wire latency, idle watchers and RSS) and PaneReader.get against raw SQLite.")

    @Option(help: "Write rates for the commit-to-wire rounds, comma-separated.")
    var rates: String = "1000,5000"

    @Option(help: "Seconds of writes per rate.")
    var seconds: Int = 10

    @Option(help: "Idle watchers to open at once.")
    var idleWatchers: Int = 10_000

    @Option(help: "Point reads per reader (PaneReader.get and raw SQLite).")
    var gets: Int = 200_000

    @Option(help: "The pane binary (default: the one next to pane-loadtest).")
    var pane: String?

    @Option(help: "Write watch.json and watch.md into this folder.")
    var out: String?

    func validate() throws {
        guard !parsedRates.isEmpty, parsedRates.allSatisfy({ (1...100_000).contains($0) }) else {
            throw ValidationError("--rates must be comma-separated write rates of 1-100000, got \(rates)")
        }
        guard (1...600).contains(seconds) else { throw ValidationError("--seconds must be 1-600, got \(seconds)") }
        guard (0...100_000).contains(idleWatchers) else { throw ValidationError("--idle-watchers must be 0-100000, got \(idleWatchers)") }
        guard (1...100_000_000).contains(gets) else { throw ValidationError("--gets must be 1-100000000, got \(gets)") }
    }

    var parsedRates: [Int] { rates.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func run() throws {
        let benchmark = WatchBenchmark(
            paneBinary: pane ?? ScenarioRunner.siblingPaneBinary(), rates: parsedRates, seconds: seconds, idleWatchers: idleWatchers,
            gets: gets)
        let report = try benchmark.run { print($0) }
        print("")
        print(report.table)
        if let out { try writeReport(report, table: report.table, name: "watch", into: out) }
    }
}

/// Writes `NAME.json` (the report) and `NAME.md` (its table) into `folder`, and says so.
func writeReport(_ report: some Encodable, table: String, name: String, into folder: String) throws {
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(report).write(to: URL(fileURLWithPath: "\(folder)/\(name).json"))
    try (table + "\n").write(toFile: "\(folder)/\(name).md", atomically: true, encoding: .utf8)
    print("wrote \(folder)/\(name).json and \(folder)/\(name).md")
}
