import ArgumentParser
import Foundation
import PaneApp
import PaneCore
import PaneRuntime
import PaneRedis

extension Pane {
    struct Admin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Operate a running system: status, resync and dead letters.",
            subcommands: [Status.self, Resync.self, DeadLetterCommands.self])
    }
}

extension Pane.Admin {
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Each region's stream (length, seqs, the hub's seq, memory, dead letters) and each replica's state, position, lag, heartbeat, pending entries, resync and digest.",
            discussion: """
                STATE is down (no heartbeat for --down-after-ms), resyncing, stale (no heartbeat for \
                --stale-after-ms), lagging (the oldest unapplied entry has waited --lag-after-ms) or ok. \
                docs/operations.md defines every column.
                """)

        @OptionGroup var common: CommonOptions

        @Option(help: "Regions to show, comma-separated (key hub.regions); default: every region with a stream in Redis.")
        var regions: String?

        @Flag(help: "Print JSON for scripts instead of a table.")
        var json = false

        @Option(help: "A replica without a heartbeat this long is stale, ms.")
        var staleAfterMs: Int64 = ReplicaState.Thresholds().staleAfterMs

        @Option(help: "A replica without a heartbeat this long is down, ms.")
        var downAfterMs: Int64 = ReplicaState.Thresholds().downAfterMs

        @Option(help: "A replica whose oldest unapplied entry has waited this long is lagging, ms.")
        var lagAfterMs: Int64 = ReplicaState.Thresholds().lagAfterMs

        func validate() throws {
            for (name, value) in [("--stale-after-ms", staleAfterMs), ("--down-after-ms", downAfterMs), ("--lag-after-ms", lagAfterMs)] {
                guard (0...86_400_000).contains(value) else { throw ValidationError("\(name) must be 0-86400000, got \(value)") }
            }
        }

        func run() async throws {
            let thresholds = {
                var thresholds = ReplicaState.Thresholds()
                thresholds.staleAfterMs = staleAfterMs
                thresholds.downAfterMs = downAfterMs
                thresholds.lagAfterMs = lagAfterMs
                return thresholds
            }()
            let source = try await common.source(extra: regions.map { [SettingKey.regions: $0] } ?? [:])
            let redis: RedisEndpoint
            let named: [Region]?
            do {
                redis = try source.defaultRedis()
                named = try source.regions(SettingKey.regions)
            } catch { throw fail(error) }
            let report: StatusReport
            do {
                report = try await BlockingThread.value(name: "pane-admin") {
                    try StatusReport.collect(
                        regions: try named ?? StatusReport.discoverRegions(redis: redis), redis: redis, thresholds: thresholds)
                }
            } catch { throw adminFailure(error) }
            if json { return try printJSON(report) }
            if report.regions.isEmpty { return print("no region streams in \(redis)") }
            print(report.table)
        }
    }
}

extension Pane.Admin {
    struct Resync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask the hub to resend a region's contexts to its replicas, and follow them until each reports it done.",
            discussion: """
                Harmless on a healthy replica: the snapshot is applied under the apply rule, so nothing \
                newer is overwritten and nothing the hub holds is removed. Exits 1 when a replica \
                does not finish within --timeout-seconds.
                """)

        @OptionGroup var options: AdminOptions
        @Option(help: "Only this replica (default: every replica with a heartbeat in the last minute).") var replica: String?
        @Option(name: .customLong("context"), help: "Only the buckets of this context id; repeat for more.") var contexts: [String] = []
        @Option(help: "Give up after this many seconds.") var timeoutSeconds: Int = 300

        func validate() throws {
            guard (1...86_400).contains(timeoutSeconds) else { throw ValidationError("--timeout-seconds must be 1-86400, got \(timeoutSeconds)") }
        }

        func run() async throws {
            let (region, redis, _) = try await options.resolve()
            let ids: [ContextID]
            let replicaName: String?
            do throws(PaneCore.ValidationError) {
                ids = try contexts.map { (text) throws(PaneCore.ValidationError) in try ContextID(text) }
                replicaName = try replica.map { (text) throws(PaneCore.ValidationError) in try ReplicaName(text).name }
            } catch { throw fail(error) }
            let admin = ResyncAdmin(region: region, redis: redis)
            let timeoutMs = Int64(timeoutSeconds) * 1000
            let json = options.json
            let outcome: (request: String, replicas: [String], unfinished: [String])
            do {
                outcome = try await BlockingThread.value(name: "pane-admin") {
                    let targets = try replicaName.map { [$0] } ?? admin.liveReplicas()
                    guard !targets.isEmpty else {
                        throw AdminError.noLiveReplica(region)
                    }
                    let request = try admin.request(replica: replicaName, contexts: ids)
                    if !json { print("asked the hub for a resync of \(region.name) (request \(request)); waiting for \(targets.joined(separator: ", "))") }
                    let unfinished = try admin.wait(requestID: request, replicas: targets, timeoutMs: timeoutMs) { line in
                        if !json { print(line) }
                    }
                    return (request, targets, unfinished)
                }
            } catch { throw adminFailure(error) }
            if json {
                struct Output: Encodable { let request: String; let replicas: [String]; let unfinished: [String] }
                try printJSON(Output(request: outcome.request, replicas: outcome.replicas, unfinished: outcome.unfinished))
            }
            if !outcome.unfinished.isEmpty {
                throw adminFailure(AdminError.timedOut(seconds: timeoutSeconds, waitingFor: outcome.unfinished))
            }
            if !json { print("resync done") }
        }
    }
}

/// Options of every `pane admin` command: the connection and the region.
struct AdminOptions: ParsableArguments {
    @OptionGroup var common: CommonOptions

    @Option(help: "The region.")
    var region: String

    @Flag(help: "Print JSON for scripts instead of a table.")
    var json = false

    /// The region and its Redis, from flags, PANE_ variables or the config file.
    func resolve() async throws -> (Region, RedisEndpoint, ConfigSource) {
        let region: Region
        do { region = try Region(self.region) } catch { throw fail(error) }
        let source = try await common.source(extra: [:])
        do {
            if let redis = try source.redis("\(SettingKey.regionRedisPrefix).\(region.name)") {
                return (region, redis, source)
            }
            return (region, try source.defaultRedis(), source)
        } catch {
            throw fail(error)
        }
    }
}

/// Prints a failure of an admin command; exits 2 when the command named something that does not
/// exist or is malformed, 1 otherwise.
func adminFailure(_ error: any Error) -> ExitCode {
    FileHandle.standardError.write(Data("pane admin: \(error)\n".utf8))
    return ExitCode((error as? AdminError)?.exitCode ?? 1)
}

func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

func table(_ header: [String], _ rows: [[String]]) -> String {
    let widths = header.indices.map { i in ([header[i]] + rows.map { $0[i] }).map(\.count).max() ?? 0 }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
    }
    return ([line(header)] + rows.map(line)).joined(separator: "\n")
}

struct DeadLetterCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "List, show, replay or purge the dead letters of a region (pane:{R}:dlq).",
        subcommands: [List.self, Show.self, Replay.self, Purge.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dead letters, oldest first.")
        @OptionGroup var options: AdminOptions
        @Option(help: "At most this many.") var limit: Int = 100

        func validate() throws {
            guard (1...100_000).contains(limit) else { throw ValidationError("--limit must be 1-100000, got \(limit)") }
        }

        func run() async throws {
            let (region, redis, _) = try await options.resolve()
            let admin = DeadLetterAdmin(region: region, redis: redis)
            let limit = self.limit
            let letters: [DeadLetterAdmin.Letter]
            do { letters = try await BlockingThread.value(name: "pane-admin") { try admin.list(limit: limit) } } catch { throw adminFailure(error) }
            if options.json { return try printJSON(letters) }
            if letters.isEmpty { return print("no dead letters in \(region.keys.deadLetters)") }
            print(table(
                ["ID", "ENTRY", "CONTEXT", "VER", "KIND", "REPLICA", "DELIVERIES", "REASON"],
                letters.map { [$0.id, $0.entryID, $0.ctx ?? "-", $0.version ?? "-", $0.kind, $0.replica, String($0.deliveries), String($0.reason.prefix(80))] }))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show every field of one dead letter.")
        @OptionGroup var options: AdminOptions
        @Argument(help: "The dead letter's id, as `list` prints it.") var id: String

        func run() async throws {
            let (region, redis, _) = try await options.resolve()
            let admin = DeadLetterAdmin(region: region, redis: redis)
            let id = self.id
            let letter: DeadLetterAdmin.Letter
            do { letter = try await BlockingThread.value(name: "pane-admin") { try admin.show(id: id) } } catch { throw adminFailure(error) }
            if options.json { return try printJSON(letter) }
            print(table(["FIELD", "VALUE"], letter.fields.map { [$0[0], String($0[1].prefix(200))] }))
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-publish the hub's current version of each dead letter's context, then delete the dead letters.")
        @OptionGroup var options: AdminOptions
        @Option(help: "One dead letter.") var id: String?
        @Flag(help: "Every dead letter of the region.") var all = false
        @Option(help: "The hub's HTTP address host:port (key hub.http, default 127.0.0.1:7400).") var hub: String?
        @Option(help: "A file holding the admin token to send to the hub (also PANE_TOKEN_FILE).") var tokenFile: String?

        func validate() throws {
            guard (id != nil) != all else { throw ValidationError("name one dead letter with --id, or use --all") }
        }

        func run() async throws {
            let (region, redis, source) = try await options.resolve()
            var hubAddress = (host: "127.0.0.1", port: 7400)
            do {
                if let hub {
                    hubAddress = try ConfigSource.defaults().parseAddress(SettingKey.hubHTTP, hub)
                } else if let configured = try source.address(SettingKey.hubHTTP) {
                    hubAddress = configured
                }
            } catch { throw fail(error) }
            let token: String?
            do { token = try ClientToken.load(path: tokenFile) } catch { throw fail(error) }
            let admin = DeadLetterAdmin(region: region, redis: redis)
            let ids = id.map { [$0] }
            let target = hubAddress
            let result: DeadLetterAdmin.ReplayOutcome
            do {
                result = try await BlockingThread.value(name: "pane-admin") {
                    // Progress on stderr, so --json output stays one document.
                    try admin.replay(ids: ids, hub: target, token: token) { done in
                        FileHandle.standardError.write(Data(
                            "page \(done.pages): \(done.replayed.count) dead letters replayed so far, \(done.skipped.count) kept\n".utf8))
                    }
                }
            } catch { throw adminFailure(error) }
            if options.json {
                struct Output: Encodable { let replayed: [String]; let skipped: [String]; let missingAtHub: [String] }
                return try printJSON(Output(replayed: result.replayed, skipped: result.skipped, missingAtHub: result.missing))
            }
            print("replayed \(result.replayed.count) dead letters (\(result.contexts.count) contexts re-published from the hub)")
            if !result.skipped.isEmpty {
                let shown = result.skipped.prefix(100).joined(separator: " ") + (result.skipped.count > 100 ? " …" : "")
                print("kept \(result.skipped.count) dead letters without a readable context id; purge them: \(shown)")
            }
            if !result.missing.isEmpty { print("the hub does not know: \(result.missing.prefix(100).joined(separator: ", "))") }
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete one dead letter, or all older than a duration.")
        @OptionGroup var options: AdminOptions
        @Option(help: "One dead letter.") var id: String?
        @Option(help: "Every dead letter older than this: 90s, 15m, 12h, 7d.") var olderThan: String?

        func validate() throws {
            guard (id != nil) != (olderThan != nil) else { throw ValidationError("use either --id or --older-than") }
            if let olderThan { _ = try DeadLetterAdmin.duration(olderThan) }
        }

        func run() async throws {
            let (region, redis, _) = try await options.resolve()
            let admin = DeadLetterAdmin(region: region, redis: redis)
            let id = self.id
            let age = try olderThan.map(DeadLetterAdmin.duration)
            let removed: Int
            do { removed = try await BlockingThread.value(name: "pane-admin") { try admin.purge(id: id, olderThanMs: age) } } catch { throw adminFailure(error) }
            if options.json { return try printJSON(["purged": removed]) }
            print("purged \(removed) dead letters from \(region.keys.deadLetters)")
        }
    }
}
