import ArgumentParser
import Foundation
import Logging
import PaneApp
import PaneCore
import PaneHTTP
import PaneHub
import PaneSpoke
import ServiceLifecycle

@main
enum PaneMain {
    static func main() async {
        // Before any task starts: run tasks on the event loops the HTTP servers use, so a
        // request does not hop between NIO's threads and the concurrency pool (docs/benchmarks.md).
        ConcurrencyRuntime.runTasksOnEventLoops()
        // Freed memory is kept for the next batch, not returned to the kernel and faulted in
        // again (docs/benchmarks.md, the spoke's CPU per entry).
        MemoryRuntime.keepFreedMemory()
        await Pane.main()
    }
}

struct Pane: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pane",
        abstract: "Replicate versioned contexts from one hub to many regions over Redis Streams.",
        discussion: """
            Every option can also come from a PANE_... environment variable or a JSON config file \
            (--config or PANE_CONFIG); flags win over the environment, which wins over the file. \
            The README lists every key.
            """,
        version: PaneVersion.number,
        subcommands: [Hub.self, Spoke.self, Dev.self, Admin.self, Config.self]
    )
}

/// Options every subcommand shares.
struct CommonOptions: ParsableArguments {
    @Option(help: "A JSON config file (also PANE_CONFIG).")
    var config: String?

    @Option(help: "Redis URL, redis://[user[:password]@]host:port[/db] (key redis.url, default redis://127.0.0.1:6379).")
    var redis: String?

    @Option(help: "A Redis Cluster's seed nodes, host:port,host:port (key redis.cluster; instead of --redis).")
    var redisCluster: String?

    @Option(help: "A file holding the Redis password, kept out of ps (key redis.passwordFile).")
    var redisPasswordFile: String?

    @Option(help: "Largest context body in bytes (key body.maxBytes, default 1048576).")
    var maxBodyBytes: Int?

    @Option(help: "trace, debug, info, notice, warning, error or critical (key log.level).")
    var logLevel: String?

    func validate() throws {
        if let logLevel, Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level '\(logLevel)' is not one of trace, debug, info, notice, warning, error, critical")
        }
    }

    var flags: [String: String] {
        var flags: [String: String] = [:]
        flags[SettingKey.redisURL] = redis
        flags[SettingKey.redisCluster] = redisCluster
        flags[SettingKey.redisPasswordFile] = redisPasswordFile
        flags[SettingKey.bodyMaxBytes] = maxBodyBytes.map(String.init)
        flags[SettingKey.logLevel] = logLevel
        return flags
    }

    /// Loads the layered settings; bad values end the process with a message naming them.
    func source(extra: [String: String]) async throws -> ConfigSource {
        do {
            return try await ConfigSource.load(flags: flags.merging(extra) { $1 }, configFile: config)
        } catch let error as PaneCore.ValidationError {
            throw fail(error)
        } catch let error as ConfigError {
            throw fail(config: error)
        }
    }
}

/// A config file that is not JSON, or a key or `PANE_…` variable that names no setting: one
/// line, exit 2.
func fail(config error: ConfigError) -> ExitCode {
    FileHandle.standardError.write(Data("pane: \(error)\n".utf8))
    return ExitCode(2)
}

/// Bad configuration or flags: one line naming the input, exit 2.
func fail(_ error: PaneCore.ValidationError) -> ExitCode {
    FileHandle.standardError.write(Data("pane: \(error)\n".utf8))
    return ExitCode(2)
}

/// The tokens file cannot be used at start: one line naming the setting, the file and the line
/// at fault, exit 2.
func fail(tokens error: TokenFileLoadError, setting: String) -> ExitCode {
    FileHandle.standardError.write(Data("pane: setting \(setting): \(error)\n".utf8))
    return ExitCode(2)
}

/// A service could not start or stopped on its own: one line naming what failed
/// (``FailureMessage``), exit 1.
func fail(running error: any Error) -> ExitCode {
    FileHandle.standardError.write(Data("pane: \(FailureMessage.line(for: error))\n".utf8))
    return ExitCode(1)
}

/// Runs services until SIGTERM or SIGINT, then shuts them down gracefully (exit 0). When one
/// fails, the group cancels the others, and the process says which failed and exits 1, within
/// ``ExitDeadline/seconds`` even if another service does not stop.
///
/// Under systemd (`NOTIFY_SOCKET`), ``SystemdReadiness`` is listed last: `READY=1` once the
/// HTTP server at `http` answers, `STOPPING=1` when the shutdown begins.
func runServices(_ services: [any Service], http: (host: String, port: Int), logger: Logger) async throws {
    var services = services
    if SystemdReadiness.isWanted { services.append(SystemdReadiness(host: http.host, port: http.port, logger: logger)) }
    let deadline = ExitDeadline(logger: logger)
    let group = ServiceGroup(
        configuration: .init(
            services: services.map(deadline.watching), gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    do {
        try await group.run()
    } catch {
        // The deadline may be printing the line already: then it also exits.
        guard deadline.claimExit() else { throw ExitCode(1) }
        throw fail(running: error)
    }
}

/// How a process authenticates requests, for its start line (never a token).
func authMode(_ tokensFile: String?) -> String {
    tokensFile.map { "tokens from \($0)" } ?? "none"
}

extension Pane {
    struct Hub: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the hub: the authoritative store, the write API and the publisher.")

        @OptionGroup var common: CommonOptions

        @Option(help: "Regions to publish to, comma-separated (key hub.regions).")
        var regions: String?

        @Option(help: "The authoritative SQLite file (key hub.db, default hub.sqlite).")
        var db: String?

        @Option(help: "HTTP listen address host:port (key hub.http, default 127.0.0.1:7400).")
        var http: String?

        @Option(help: "A file of 'ROLE TOKEN' lines: the tokens requests must carry, re-read on SIGHUP and when it changes (key hub.tokensFile; required unless --http is loopback or --insecure-no-auth).")
        var tokensFile: String?

        @Flag(help: "Serve without tokens on an address other machines can reach (key hub.insecureNoAuth).")
        var insecureNoAuth = false

        @Flag(help: "Start even when a Redis's maxmemory-policy may evict Pane's keys (key hub.allowEviction).")
        var allowEviction = false

        @Option(help: "Outbox rows per region per pipeline round (key hub.batchSize, default 2000).")
        var batchSize: Int?

        @Option(
            help: """
                When a commit reaches the disk: full (every commit syncs) or sync-before-publish (the publisher syncs once per \
                round); either way nothing is published before it is durable (key hub.durability, default full).
                """)
        var durability: String?

        @Option(help: "How often to compare replica digests with the hub's, in ms (key hub.antiEntropyIntervalMs, default 60000).")
        var antiEntropyIntervalMs: Int?

        @Option(help: "Most entries kept per region stream, even if a live replica has not read them; 0 for no cap (key hub.retentionMaxEntries, default 1000000).")
        var retentionMaxEntries: Int?

        @Option(help: "Most bytes kept per region stream, by Redis's estimate; 0 for no cap (key hub.retentionMaxBytes, default 1 GiB).")
        var retentionMaxBytes: Int?

        @Option(help: "Oldest entry kept per region stream, in seconds, even if a live replica has not read it; 0 for no cap (key hub.retentionMaxAgeSeconds, default 86400).")
        var retentionMaxAgeSeconds: Int?

        @Option(help: "Deprecated: the same as --retention-max-entries.")
        var streamMaxLength: Int?

        @Option(help: "Close a connection idle this long, or whose request stalls while it is read, ms; 0 for never (key http.idleTimeoutMs, default 30000).")
        var httpIdleTimeoutMs: Int?

        @Option(help: "Close a connection whose request is not read whole in this time, ms; 0: never (key http.requestReadTimeoutMs, default 10000).")
        var httpRequestReadTimeoutMs: Int?

        @Option(help: "At most this many HTTP connections at once; more get 503 (key http.maxConnections, default 16384).")
        var httpMaxConnections: Int?

        @Option(help: "Most resync snapshots per region in any minute; more requests wait (key hub.maxSnapshotsPerMinute, default 20).")
        var maxSnapshotsPerMinute: Int?

        func run() async throws {
            var extra: [String: String] = [:]
            extra[SettingKey.regions] = regions
            extra[SettingKey.hubDB] = db
            extra[SettingKey.hubHTTP] = http
            extra[SettingKey.hubTokensFile] = tokensFile
            if allowEviction { extra[SettingKey.hubAllowEviction] = "true" }
            if insecureNoAuth { extra[SettingKey.hubInsecureNoAuth] = "true" }
            extra[SettingKey.hubBatch] = batchSize.map(String.init)
            extra[SettingKey.hubDurability] = durability
            extra[SettingKey.streamMaxLength] = streamMaxLength.map(String.init)
            extra[SettingKey.httpIdleTimeoutMs] = httpIdleTimeoutMs.map(String.init)
            extra[SettingKey.httpRequestReadTimeoutMs] = httpRequestReadTimeoutMs.map(String.init)
            extra[SettingKey.httpMaxConnections] = httpMaxConnections.map(String.init)
            extra[SettingKey.retentionMaxEntries] = retentionMaxEntries.map(String.init)
            extra[SettingKey.retentionMaxBytes] = retentionMaxBytes.map(String.init)
            extra[SettingKey.retentionMaxAgeSeconds] = retentionMaxAgeSeconds.map(String.init)
            extra[SettingKey.antiEntropyIntervalMs] = antiEntropyIntervalMs.map(String.init)
            extra[SettingKey.maxSnapshotsPerMinute] = maxSnapshotsPerMinute.map(String.init)
            let source = try await common.source(extra: extra)
            let config: HubConfiguration
            do { config = try HubConfiguration.load(from: source) } catch { throw fail(error) }
            let logger = Observability.bootstrap(level: (try? source.string(SettingKey.logLevel)) ?? "info", label: "pane.hub")
            let hub: PaneHub.Hub
            do { hub = try PaneHub.Hub(config: config, logger: logger) } catch let error as TokenFileLoadError {
                throw fail(tokens: error, setting: SettingKey.hubTokensFile)
            } catch { throw fail(running: error) }
            if let refusal = await RedisLoginCheck.atStart(endpoints: config.redis.endpointsToCheck(for: config.regions)) { throw fail(refusal) }
            try await refuseEvictingRedis(config, logger: logger)
            logger.info(
                "hub starting",
                metadata: [
                    "regions": "\(config.regions.map(\.name).joined(separator: ","))", "db": "\(config.databasePath)",
                    "http": "\(config.httpHost):\(config.httpPort)", "redis": "\(config.redis)",
                    "auth": "\(authMode(config.tokensFile))",
                ])
            try await runServices(
                hub.services(extraRoutes: Observability.addMetricsRoute), http: (config.httpHost, config.httpPort), logger: logger)
        }
    }

    struct Spoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run one spoke worker: consume a region stream into a replica's SQLite file and serve reads.")

        @OptionGroup var common: CommonOptions

        @Option(help: "The region to consume (key spoke.region).")
        var region: String?

        @Option(help: "The replica: its consumer group and SQLite file (key spoke.replica, default a).")
        var replica: String?

        @Option(help: "The replica's SQLite file, shared by its workers (key spoke.db, default <region>-<replica>.sqlite).")
        var db: String?

        @Option(help: "HTTP listen address host:port (key spoke.http, default 127.0.0.1:7401).")
        var http: String?

        @Option(help: "A file of 'ROLE TOKEN' lines: the tokens requests must carry, re-read on SIGHUP and when it changes (key spoke.tokensFile; required unless --http is loopback or --insecure-no-auth).")
        var tokensFile: String?

        @Flag(help: "Serve without tokens on an address other machines can reach (key spoke.insecureNoAuth).")
        var insecureNoAuth = false

        @Option(help: "Consumer name in the replica's group (key spoke.consumer, default <host>-<pid>).")
        var consumer: String?

        @Option(help: "Entries per read and per transaction (key spoke.batchSize, default 500).")
        var batchSize: Int?

        @Option(help: "XREADGROUP BLOCK in ms (key spoke.blockMs, default 1000).")
        var blockMs: Int?

        @Option(help: "Append 'seq hubCommitMs replicaCommitMs' per applied update to this file (key spoke.latencyLog).")
        var latencyLog: String?

        @Option(help: "Deliveries before a transiently failing entry is dead-lettered (key spoke.maxDeliveries, default 5).")
        var maxDeliveries: Int?

        @Option(help: "Take over entries another worker left pending this long, ms (key spoke.claimIdleMs, default 30000).")
        var claimIdleMs: Int?

        @Option(help: "Remove consumers idle this long with nothing pending, ms (key spoke.consumerIdleMs, default 3600000).")
        var consumerIdleMs: Int?

        @Option(help: "Publish the replica's anti-entropy digest this often, ms (key spoke.digestIntervalMs, default 60000).")
        var digestIntervalMs: Int?

        @Option(help: "A watermark stalled this long below a delivered entry nobody holds is a gap, ms (key spoke.gapStallMs, default 2000).")
        var gapStallMs: Int?

        @Option(help: "Ask again when the hub has not answered a resync request in this time, ms (key spoke.resyncTimeoutMs, default 60000).")
        var resyncTimeoutMs: Int?

        @Option(help: "Answer /readyz 503 'lagging' when the replica is behind the hub's seq longer than this, ms (key spoke.maxLagMs, default 30000).")
        var maxLagMs: Int?
        @Option(help: "The longest a read may wait with wait=, ms (key spoke.maxWaitMs, default 60000).")
        var maxWaitMs: Int?

        @Option(help: "Open GET /v1/watch streams this worker serves at once; more get 503 (key spoke.maxWatchers, default 10000).")
        var maxWatchers: Int?

        @Option(help: "Close a connection idle this long, or whose request stalls while it is read, ms; 0 for never (key http.idleTimeoutMs, default 30000).")
        var httpIdleTimeoutMs: Int?

        @Option(help: "Close a connection whose request is not read whole in this time, ms; 0: never (key http.requestReadTimeoutMs, default 10000).")
        var httpRequestReadTimeoutMs: Int?

        @Option(help: "At most this many HTTP connections at once; more get 503 (key http.maxConnections, default 16384).")
        var httpMaxConnections: Int?

        @Option(help: "The hub, http://host:port, for consistency=hub and fallback=hub reads (key spoke.hubURL).")
        var hubURL: String?

        @Option(help: "A file holding the token the spoke sends to the hub (key spoke.hubTokenFile).")
        var hubTokenFile: String?

        func run() async throws {
            var extra: [String: String] = [:]
            extra[SettingKey.spokeRegion] = region
            extra[SettingKey.spokeReplica] = replica
            extra[SettingKey.spokeDB] = db
            extra[SettingKey.spokeHTTP] = http
            extra[SettingKey.spokeTokensFile] = tokensFile
            if insecureNoAuth { extra[SettingKey.spokeInsecureNoAuth] = "true" }
            extra[SettingKey.spokeConsumer] = consumer
            extra[SettingKey.spokeBatch] = batchSize.map(String.init)
            extra[SettingKey.spokeBlockMs] = blockMs.map(String.init)
            extra[SettingKey.spokeLatencyLog] = latencyLog
            extra[SettingKey.spokeMaxDeliveries] = maxDeliveries.map(String.init)
            extra[SettingKey.spokeClaimIdleMs] = claimIdleMs.map(String.init)
            extra[SettingKey.spokeConsumerIdleMs] = consumerIdleMs.map(String.init)
            extra[SettingKey.spokeDigestIntervalMs] = digestIntervalMs.map(String.init)
            extra[SettingKey.spokeGapStallMs] = gapStallMs.map(String.init)
            extra[SettingKey.spokeResyncTimeoutMs] = resyncTimeoutMs.map(String.init)
            extra[SettingKey.spokeMaxLagMs] = maxLagMs.map(String.init)
            extra[SettingKey.spokeMaxWaitMs] = maxWaitMs.map(String.init)
            extra[SettingKey.spokeMaxWatchers] = maxWatchers.map(String.init)
            extra[SettingKey.httpIdleTimeoutMs] = httpIdleTimeoutMs.map(String.init)
            extra[SettingKey.httpRequestReadTimeoutMs] = httpRequestReadTimeoutMs.map(String.init)
            extra[SettingKey.httpMaxConnections] = httpMaxConnections.map(String.init)
            extra[SettingKey.spokeHubURL] = hubURL
            extra[SettingKey.spokeHubTokenFile] = hubTokenFile
            let source = try await common.source(extra: extra)
            let config: SpokeConfiguration
            let hub: HubHTTPReader?
            do {
                config = try SpokeConfiguration.load(from: source)
                hub = try config.hubURL.map { url throws(PaneCore.ValidationError) in
                    HubHTTPReader(host: url.host, port: url.port, token: try config.hubTokenFile.map { path throws(PaneCore.ValidationError) in
                        try ClientToken.read(path, input: "setting \(SettingKey.spokeHubTokenFile)")
                    })
                }
            } catch { throw fail(error) }
            let logger = Observability.bootstrap(level: (try? source.string(SettingKey.logLevel)) ?? "info", label: "pane.spoke")
            let spoke: PaneSpoke.Spoke
            do { spoke = try PaneSpoke.Spoke(config: config, logger: logger, hub: hub) } catch let error as TokenFileLoadError {
                throw fail(tokens: error, setting: SettingKey.spokeTokensFile)
            } catch { throw fail(running: error) }
            if let refusal = await RedisLoginCheck.atStart(endpoints: config.topology.endpointsToCheck(for: [config.region])) { throw fail(refusal) }
            logger.info(
                "spoke starting",
                metadata: [
                    "region": "\(config.region)", "replica": "\(config.replica)", "consumer": "\(config.consumer)",
                    "db": "\(config.databasePath)", "http": "\(config.httpHost):\(config.httpPort)", "redis": "\(config.topology)",
                    "auth": "\(authMode(config.tokensFile))",
                ])
            try await runServices(
                spoke.services(extraRoutes: Observability.addMetricsRoute), http: (config.httpHost, config.httpPort), logger: logger)
        }
    }

    struct Dev: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a private redis-server, a hub and spokes on loopback, and show updates flowing.")

        @Option(help: "How many regions (1-8); the second region gets two replicas.")
        var regions: Int = 3

        @Option(help: "Log level of the hub and spokes.")
        var logLevel: String = "warning"

        @Option(help: "Stable ports: redis-server on BASE, the hub on BASE+1, the spokes on BASE+2 and up (default: free ports).")
        var port: Int?

        @Option(help: "Keep the data (Redis with an append-only file, SQLite files, logs, tokens) in this folder, and reuse it next time (default: a temporary folder, removed at the end).")
        var data: String?

        func validate() throws {
            if let port, !(1024...(65535 - DevEnvironment.portsNeeded)).contains(port) {
                throw ValidationError("--port must be 1024-\(65535 - DevEnvironment.portsNeeded), got \(port)")
            }
            guard (1...DevEnvironment.regionNames.count).contains(regions) else {
                throw ValidationError("--regions must be 1-\(DevEnvironment.regionNames.count), got \(regions)")
            }
            guard Logger.Level(rawValue: logLevel) != nil else {
                throw ValidationError("--log-level '\(logLevel)' is not one of trace, debug, info, notice, warning, error, critical")
            }
        }

        func run() async throws {
            let logger = Observability.bootstrap(level: logLevel, label: "pane.dev")
            do { try await DevEnvironment(regionCount: regions, logLevel: logLevel, basePort: port, dataDirectory: data).run(logger: logger) } catch { throw fail(running: error) }
        }
    }
}

/// A Redis that may evict Pane's keys loses updates silently: the hub refuses to start on one
/// (exit 2, naming the policy and the fix) unless `hub.allowEviction`, and then logs it.
func refuseEvictingRedis(_ config: HubConfiguration, logger: Logger) async throws {
    if let refusal = await EvictionCheck.atStart(endpoints: config.redis.endpointsToCheck(for: config.regions), allow: config.allowEviction, logger: logger) {
        throw fail(refusal)
    }
}
