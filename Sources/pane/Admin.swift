import ArgumentParser
import Foundation
import PaneApp
import PaneCore
import PaneHub
import PaneRuntime
import PaneRedis

extension Pane {
    struct Admin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Operate a running system: status, resync, dead letters, hub backups and restores.",
            subcommands: [Status.self, Resync.self, DeadLetterCommands.self, BackupHub.self, RestoreHub.self])
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
            let named: [Region]?
            do { named = try source.regions(SettingKey.regions) } catch { throw fail(error) }
            // One server, or every master of a cluster, each with its own table.
            let reports: [(RedisEndpoint, StatusReport)]
            do {
                reports = try await BlockingThread.value(name: "pane-admin") {
                    try AdminRedis.statusEndpoints(source: source, named: named).map { redis, regions in
                        let report = try StatusReport.collect(
                            regions: try regions ?? StatusReport.discoverRegions(redis: redis), redis: redis, thresholds: thresholds)
                        return (redis, report)
                    }
                }
            } catch let error as PaneCore.ValidationError {
                throw fail(error)
            } catch { throw adminFailure(error) }
            let cluster = reports.count > 1
            if json {
                if !cluster, let only = reports.first { return try printJSON(only.1) }
                return try printJSON(reports.map { ClusterNodeStatus(node: "\($0.0.host):\($0.0.port)", report: $0.1) })
            }
            for (redis, report) in reports {
                if cluster { print("node \(redis.host):\(redis.port)") }
                if report.regions.isEmpty {
                    print("no region streams in \(redis)")
                } else {
                    print(report.table)
                }
            }
        }

        /// One cluster master's part of `pane admin status --json` with `redis.cluster`.
        struct ClusterNodeStatus: Encodable {
            let node: String
            let report: StatusReport
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

extension Pane.Admin {
    struct BackupHub: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy the hub's SQLite file, consistently, while the hub runs (VACUUM INTO).",
            discussion: "The copy is a plain SQLite file; `pane admin restore-hub --from` puts it back in a new history.")

        @OptionGroup var common: CommonOptions
        @Option(help: "The hub's SQLite file (key hub.db, default hub.sqlite).") var db: String?
        @Option(help: "The backup file to write; it must not exist.") var to: String
        @Flag(help: "Print JSON for scripts.") var json = false

        func run() async throws {
            let source = try await common.source(extra: db.map { [SettingKey.hubDB: $0] } ?? [:])
            let database: String
            do { database = try source.string(SettingKey.hubDB) ?? "hub.sqlite" } catch { throw fail(error) }
            let target = to
            let summary: HubBackupAdmin.Summary
            do {
                summary = try await BlockingThread.value(name: "pane-admin") { try HubBackupAdmin.backup(database: database, to: target) }
            } catch { throw adminFailure(error) }
            if json { return try printJSON(summary) }
            print("backed up \(database) to \(target): \(summary.line)")
        }
    }

    struct RestoreHub: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put a hub backup in place as a new history; every replica then resyncs from it.",
            discussion: """
                Stop the hub first. The backup is copied to --db (an existing file is moved aside with \
                --force, never deleted) and gets a new hub id, versions above every version the streams \
                and the replicas' digest reports hold, and seqs above every stream's last id. Entries \
                the lost history published after the backup are deleted from the streams, and \
                pane:{R}:hub gets the new id: each spoke then asks for a full resync (new-history) \
                and drops every row the restored hub does not have. Start the hub afterwards. \
                docs/operations.md, "Restore from backup", has the whole procedure.
                """)

        @OptionGroup var common: CommonOptions
        @Option(help: "The backup file (from pane admin backup-hub, or any copy of a hub file).") var from: String
        @Option(help: "Where the hub's SQLite file goes (key hub.db, default hub.sqlite).") var db: String?
        @Option(help: "The hub's regions (key hub.regions): those the backup lacks get seqs above their streams too.") var regions: String?
        @Option(help: "Raise every version by at least this much, on top of what Redis shows.") var versionFloor: Int64 = 0
        @Flag(help: "Move an existing hub file at --db aside (renamed .replaced-<ms>) instead of refusing.") var force = false
        @Flag(help: "Print JSON for scripts.") var json = false

        func validate() throws {
            guard (0...(Int64.max / 4)).contains(versionFloor) else {
                throw ValidationError("--version-floor must be 0 or more, got \(versionFloor)")
            }
        }

        func run() async throws {
            var extra: [String: String] = [:]
            extra[SettingKey.hubDB] = db
            extra[SettingKey.regions] = regions
            let source = try await common.source(extra: extra)
            let database: String
            let defaultRedis: RedisEndpoint
            var byRegion: [Region: RedisEndpoint] = [:]
            let hubRegions: [Region]
            let backup = from
            do {
                database = try source.string(SettingKey.hubDB) ?? "hub.sqlite"
                defaultRedis = try source.defaultRedis()
                hubRegions = try source.regions(SettingKey.regions) ?? []
                let all = try HubBackupAdmin.regions(ofBackup: backup) + hubRegions
                let source = source
                // In a cluster, each region's master.
                let resolved = try await BlockingThread.value(name: "pane-admin") { try all.map { ($0, try AdminRedis.endpoint(for: $0, source: source)) } }
                for (region, redis) in resolved { byRegion[region] = redis }
            } catch let error as PaneCore.ValidationError {
                throw fail(error)
            } catch {
                throw adminFailure(error)
            }
            var admin = HubRestoreAdmin(
                backup: backup, database: database, redisByRegion: byRegion, defaultRedis: defaultRedis, versionFloor: versionFloor, force: force)
            admin.hubRegions = hubRegions
            let restore = admin
            let quiet = json
            let outcome: HubRestoreAdmin.Outcome
            do {
                outcome = try await BlockingThread.value(name: "pane-admin") { try restore.run { line in if !quiet { print(line) } } }
            } catch { throw adminFailure(error) }
            if json { return try printJSON(outcome) }
            print("restored: start the hub now; every replica resyncs from it (pane admin status shows them resyncing)")
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

    /// The region and its Redis (in a cluster, its master), from flags, PANE_ variables or the
    /// config file.
    func resolve() async throws -> (Region, RedisEndpoint, ConfigSource) {
        let region: Region
        do { region = try Region(self.region) } catch { throw fail(error) }
        let source = try await common.source(extra: [:])
        do {
            // In a cluster, the master of the region's slot.
            return (region, try await BlockingThread.value(name: "pane-admin") { try AdminRedis.endpoint(for: region, source: source) }, source)
        } catch let error as PaneCore.ValidationError {
            throw fail(error)
        } catch {
            throw adminFailure(error)
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
