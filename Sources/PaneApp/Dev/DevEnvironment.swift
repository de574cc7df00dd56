import Foundation
import Logging
import PaneCore
import PaneHub
import PaneRedis
import PaneRuntime
import ServiceLifecycle
import Synchronization

/// `pane dev`: a private redis-server, a hub (in this process) and spokes (child processes), with
/// sample contexts and a ticker, so one command shows the whole system working.
public struct DevEnvironment: Sendable {
    public static let regionNames = ["us-east-1", "eu-west-1", "ap-south-1", "us-west-2", "eu-central-1", "ap-northeast-1", "sa-east-1", "ca-central-1"]

    /// Ports `--port BASE` takes: redis-server, the hub, and up to nine spokes.
    public static let portsNeeded = 11

    public let regionCount: Int
    public let logLevel: String
    /// `--port`: redis-server on it, the hub on the next, the spokes after; `nil` for free ports.
    public let basePort: Int?
    /// `--data`: the folder to keep (and reuse); `nil` for a temporary folder removed at the end.
    public let dataDirectory: String?

    public init(regionCount: Int, logLevel: String, basePort: Int? = nil, dataDirectory: String? = nil) {
        self.regionCount = regionCount
        self.logLevel = logLevel
        self.basePort = basePort
        self.dataDirectory = dataDirectory
    }

    /// Runs until SIGINT, SIGTERM or SIGHUP, then prints `stopping…`, stops the hub, the spokes
    /// and redis-server, and removes the folder unless it is `--data`'s.
    ///
    /// Each child runs in a process group of its own (Foundation's `Process` starts it so), so
    /// a terminal's Ctrl-C reaches `pane dev` alone, which then stops the children in order.
    /// They die with `pane dev` even when it is killed with `kill -9`: each gets a parent-death
    /// signal (``ChildProcess`` `diesWithParent`).
    ///
    /// The signals are handled from the first moment: a signal during start-up stops what has
    /// started so far and cleans up the same way.
    public func run(logger: Logger) async throws {
        let session = DevSession(environment: self, logger: logger)
        let group = ServiceGroup(
            configuration: .init(services: [session], gracefulShutdownSignals: [.sigterm, .sigint, .sighup], logger: logger))
        try await group.run()
    }

    /// Starts everything, runs the hub's services and the ticker until the graceful shutdown,
    /// then stops and cleans up (the `defer`s). Runs inside ``DevSession``, so a shutdown
    /// requested during start-up is seen between the steps.
    func session(logger: Logger) async throws {
        let keep = dataDirectory != nil
        let dir =
            dataDirectory.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("pane-dev-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        say("pane dev: working folder \(dir)\(keep ? " (kept, --data)" : "")")
        let redis = try RedisServerProcess(directory: "\(dir)/redis", appendOnly: keep, port: basePort, diesWithParent: true)
        say("pane dev: redis-server \(redis.endpoint) (pid \(redis.pid))")
        if Task.isShuttingDownGracefully { return }
        defer {
            redis.stop()
            if keep {
                say("pane dev: stopped redis-server; the data stays in \(dir)")
            } else {
                try? FileManager.default.removeItem(atPath: dir)
                say("pane dev: stopped redis-server and removed \(dir)")
            }
        }

        // The private Redis asks for a password, as a real one should: the hub gets it in memory,
        // the spokes and the printed admin commands through a file (never on a command line).
        let passwordFile = "\(dir)/redis.password"
        let password = GeneratedTokens.randomToken()
        guard
            FileManager.default.createFile(atPath: passwordFile, contents: Data((password + "\n").utf8), attributes: [.posixPermissions: 0o600])
        else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: passwordFile]) }
        try await BlockingThread.value(name: "pane-dev") {
            let conn = try RedisConnection(endpoint: redis.endpoint)
            defer { conn.close() }
            try conn.configSet("requirepass", password)
        }
        let endpoint = redis.endpoint.with(password: password)

        let regions = try Region.list(Self.regionNames.prefix(regionCount).joined(separator: ","))
        var hubConfig = HubConfiguration(regions: regions)
        hubConfig.defaultRedis = endpoint
        hubConfig.databasePath = "\(dir)/hub.sqlite"
        hubConfig.httpPort = basePort.map { $0 + 1 } ?? LocalPorts.free()
        let tokens = try GeneratedTokens.create(at: "\(dir)/tokens")
        let adminTokenFile = "\(dir)/admin.token"
        guard
            FileManager.default.createFile(
                atPath: adminTokenFile, contents: Data((tokens.token(.admin) + "\n").utf8), attributes: [.posixPermissions: 0o600])
        else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: adminTokenFile]) }
        hubConfig.tokensFile = tokens.path
        let hub = try Hub(config: hubConfig, logger: logger)

        // Replicas: one per region, two for the second region.
        var spokes: [DevSpoke] = []
        defer {
            for spoke in spokes { spoke.child.stop() }
            say("pane dev: stopped \(spokes.count) spokes")
        }
        for (index, region) in regions.enumerated() {
            for replica in index == 1 ? ["a", "b"] : ["a"] {
                let port = basePort.map { $0 + 2 + spokes.count } ?? LocalPorts.free()
                let child = try ChildProcess(
                    name: "spoke \(region)/\(replica)", executable: ChildProcess.currentExecutable(),
                    arguments: [
                        "spoke", "--redis", endpoint.urlWithoutPassword, "--redis-password-file", passwordFile,
                        "--region", region.name, "--replica", replica,
                        "--db", "\(dir)/\(region.name)-\(replica).sqlite", "--http", "127.0.0.1:\(port)",
                        "--tokens-file", tokens.path, "--log-level", logLevel,
                    ],
                    logPath: "\(dir)/spoke-\(region.name)-\(replica).log", diesWithParent: true)
                spokes.append(DevSpoke(region: region, replica: replica, port: port, child: child))
            }
        }

        if Task.isShuttingDownGracefully { return }
        for (id, body) in Self.samples {
            _ = try await hub.store.put(id: try ContextID(id), body: Array(body.utf8))
        }
        let ticker = DevTicker(
            hub: hub, spokes: spokes, hubPort: hubConfig.httpPort, logDir: dir, tokens: tokens, redis: redis.endpoint,
            redisPasswordFile: passwordFile,
            adminTokenFile: adminTokenFile)
        // No signals of its own: the session's group handles them and passes the shutdown on.
        // (The hub's tokens file watcher hears SIGHUP too, and re-reads the file.)
        let group = ServiceGroup(
            configuration: .init(services: hub.services(extraRoutes: Observability.addMetricsRoute) + [ticker], logger: logger))
        try await withGracefulShutdownHandler {
            try await group.run()
        } onGracefulShutdown: {
            Task { await group.triggerGracefulShutdown() }
        }
    }

    static let samples: [(String, String)] = [
        ("tenant/acme/settings", #"{"plan":"enterprise","seats":250,"features":{"sso":true,"audit":true}}"#),
        ("tenant/globex/settings", #"{"plan":"team","seats":12,"features":{"sso":false}}"#),
        ("cluster/prod-1/config", #"{"brokers":3,"replication":3,"retentionHours":72}"#),
        ("apikeys/acme", #"{"keys":[{"id":"k1","scopes":["read"]},{"id":"k2","scopes":["read","write"]}]}"#),
    ]
}

/// The one service of `pane dev`'s signal-handling group: the whole session, from the first
/// step of start-up, so SIGINT, SIGTERM and SIGHUP always stop and clean up in order. Prints
/// `stopping…` when the shutdown begins.
struct DevSession: Service {
    let environment: DevEnvironment
    let logger: Logger

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await environment.session(logger: logger)
        } onGracefulShutdown: {
            Self.sayStopping()
        }
    }

    private static let stopping = Atomic<Bool>(false)

    /// Prints `stopping…` once: the session hears the shutdown first, the ticker after it.
    static func sayStopping() {
        if stopping.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged { say("pane dev: stopping…") }
    }
}

struct DevSpoke: Sendable {
    let region: Region
    let replica: String
    let port: Int
    let child: ChildProcess
}

/// Prints the URLs, then writes `demo/clock` every two seconds and reads it back from every
/// spoke (with the `read` token), printing one line per tick: updates flowing, reads answering.
///
/// It has nothing to finish: graceful shutdown and cancellation (another service failed) both
/// stop it at once.
struct DevTicker: Service {
    let hub: Hub
    let spokes: [DevSpoke]
    let hubPort: Int
    let logDir: String
    let tokens: GeneratedTokens
    let redis: RedisEndpoint
    let redisPasswordFile: String
    let adminTokenFile: String

    func run() async throws {
        do {
            try await withGracefulShutdownHandler {
                try await cancelWhenGracefulShutdown { try await self.tick() }
            } onGracefulShutdown: {
                DevSession.sayStopping()
            }
        } catch is CancellationError {
            // Shut down or cancelled: nothing to finish.
        }
    }

    private func tick() async throws {
        try await waitUntilReady()
        printBanner()
        var tick = 0
        while true {
            tick += 1
            let body = #"{"tick":\#(tick),"at":"\#(Date())"}"#
            let write = try await hub.store.put(id: try ContextID("demo/clock"), body: Array(body.utf8))
            try await Task.sleep(for: .milliseconds(250))
            let parts = try await readEverySpoke()
            say("tick \(tick): hub wrote demo/clock v\(write.version) -> " + parts.joined(separator: ", "))
            try await Task.sleep(for: .seconds(2))
        }
    }

    /// Reads `demo/clock` from every spoke, on a thread of its own (the probe blocks).
    private func readEverySpoke() async throws -> [String] {
        let spokes = self.spokes
        let token = tokens.token(.read)
        return try await BlockingThread.value(name: "pane-dev-probe") {
            spokes.map { spoke in
                let reply = try? HTTPProbe(port: spoke.port, timeoutMs: 1_000, token: token).get("/v1/contexts/demo%2Fclock")
                let version = reply?.text.firstMatch(of: /"version":(\d+)/).map { String($0.1) } ?? "-"
                let state = spoke.child.isRunning ? "v\(version)" : "DOWN"
                return "\(spoke.region)/\(spoke.replica) \(state)"
            }
        }
    }

    /// Waits up to 20 s until every spoke answers `/readyz` with 200; the probes run on a thread
    /// of their own.
    private func waitUntilReady() async throws {
        let spokes = self.spokes
        for _ in 0..<200 {
            let ready = try await BlockingThread.value(name: "pane-dev-probe") {
                spokes.allSatisfy { (try? HTTPProbe(port: $0.port, timeoutMs: 500).get("/readyz").status) == 200 }
            }
            if ready { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        say("pane dev: some spokes are not ready yet; see the logs in \(logDir)")
    }

    private func printBanner() {
        say("")
        say("pane dev is running. Hub (writes):  http://127.0.0.1:\(hubPort)   status: /status   metrics: /metrics")
        for spoke in spokes {
            say(
                "  spoke \(spoke.region.name)/\(spoke.replica) (reads): http://127.0.0.1:\(spoke.port)   pid \(spoke.child.pid)   log: \(spoke.child.logPath)")
        }
        let first = spokes.first?.port ?? 0
        let file = tokens.path
        say("")
        say("Every request but /healthz and /readyz needs a token; one per role (read, write, admin, metrics) is in \(file).")
        say("Try:")
        say("  WRITE=$(awk '$1==\"write\"{print $2}' \(file)); READ=$(awk '$1==\"read\"{print $2}' \(file))")
        say("  curl -s -X PUT -H \"Authorization: Bearer $WRITE\" http://127.0.0.1:\(hubPort)/v1/contexts/tenant%2Facme%2Fsettings -d '{\"plan\":\"pro\"}'")
        say("  curl -si -H \"Authorization: Bearer $READ\" http://127.0.0.1:\(first)/v1/contexts/tenant%2Facme%2Fsettings")
        say("  curl -s -H \"Authorization: Bearer $READ\" 'http://127.0.0.1:\(first)/v1/contexts?prefix=tenant/'")
        let pane = ChildProcess.currentExecutable()
        let firstRegion = spokes.first?.region.name ?? "us-east-1"
        say("Admin commands for this cluster:")
        let login = "--redis \(redis.urlWithoutPassword) --redis-password-file \(redisPasswordFile)"
        say("  \(pane) admin status \(login)")
        say("  \(pane) admin dlq list \(login) --region \(firstRegion)")
        say("  \(pane) admin resync \(login) --region \(firstRegion)")
        say("  \(pane) admin dlq replay \(login) --region \(firstRegion) --all --hub 127.0.0.1:\(hubPort) --token-file \(adminTokenFile)")
        say("Ctrl-C (or SIGTERM, SIGHUP) stops everything.")
        say("")
    }
}

/// Writes a line to stdout at once, also into a pipe or file (`pane dev | tee`), where `print`
/// would buffer it.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
