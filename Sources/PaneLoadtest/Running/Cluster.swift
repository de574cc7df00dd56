import Foundation
import PaneApp
import PaneCore

#if canImport(Glibc)
    import Glibc
#endif

/// The real processes of a run: redis-server, one `pane hub`, and the `pane spoke` workers.
final class Cluster: @unchecked Sendable {
    let scenario: Scenario
    let binary: String
    let directory: String
    let redis: LoadRedis
    let hubPort: Int
    let hubDatabase: String
    /// The tokens file the hub and the workers load; the runner sends its tokens (``writeToken``, ``readToken``).
    let tokens: GeneratedTokens
    let workers: [WorkerHandle]
    /// The replicas' watermarks, read from their files.
    let watermarks = ReplicaWatermarks()
    private let lock = NSLock()
    private var hub: ChildProcess?


    /// Starts everything and waits until the hub answers and every worker is ready.
    init(scenario: Scenario, binary: String, directory: String, log: (String) -> Void) throws {
        self.scenario = scenario
        self.binary = binary
        self.directory = directory
        redis = try LoadRedis(scenario: scenario, directory: directory)
        log(redis.description)
        hubPort = LocalPorts.free()
        hubDatabase = "\(directory)/hub.sqlite"
        let tokens = try GeneratedTokens.create(at: "\(directory)/tokens")
        self.tokens = tokens
        var workers: [WorkerHandle] = []
        for region in scenario.regions {
            for replica in scenario.replicaNames {
                for index in 1...scenario.workersPerReplica {
                    let port = LocalPorts.free()
                    let base = "\(directory)/\(region.name)-\(replica)"
                    let latencyLog = "\(base)-w\(index).latency"
                    let consumer = "\(region.name)-\(replica)-w\(index)"
                    let args =
                        ["spoke"] + redis.arguments + [
                        "--region", region.name, "--replica", replica,
                        "--db", "\(base).sqlite", "--http", "127.0.0.1:\(port)", "--consumer", consumer,
                        "--latency-log", latencyLog, "--batch-size", String(scenario.spokeBatchSize), "--log-level", "warning",
                        "--tokens-file", tokens.path,
                    ]
                    workers.append(
                        WorkerHandle(
                            region: region.name, replica: replica, index: index, arguments: args, httpPort: port,
                            databasePath: "\(base).sqlite", latencyLogPath: latencyLog, logPath: "\(base)-w\(index).log"))
                }
            }
        }
        self.workers = workers
        try startHub()
        log("pane hub on 127.0.0.1:\(hubPort), \(scenario.regions.count) regions")
        for worker in workers { try worker.start(binary: binary) }
        for worker in workers { try waitReady(worker) }
        log("\(workers.count) spoke workers ready")
    }

    var hubArguments: [String] {
        ["hub"] + redis.arguments + [
            "--regions", scenario.regions.map(\.name).joined(separator: ","),
            "--db", hubDatabase, "--http", "127.0.0.1:\(hubPort)", "--batch-size", String(scenario.hubBatchSize),
            "--stream-max-length", String(scenario.streamMaxLength), "--log-level", "warning", "--tokens-file", tokens.path,
        ]
    }

    /// The token the write driver sends to the hub.
    var writeToken: String { tokens.token(.write) }
    /// The token the runner's reads from the spokes send.
    var readToken: String { tokens.token(.read) }

    var hubPid: Int32? { lock.withLock { hub?.isRunning == true ? hub?.pid : nil } }
    var hubRunning: Bool { lock.withLock { hub?.isRunning ?? false } }
    var hubWanted: Bool { lock.withLock { hub != nil } }

    /// Starts `pane hub` and waits for `/healthz`.
    func startHub() throws {
        let child = try ChildProcess(name: "hub", executable: binary, arguments: hubArguments, logPath: "\(directory)/hub.log")
        lock.withLock { hub = child }
        let probe = HTTPProbe(port: hubPort, timeoutMs: 1_000)
        for _ in 0..<600 {
            if !child.isRunning { throw LoadtestError.processExited("pane hub", log: "\(directory)/hub.log") }
            if (try? probe.get("/healthz"))?.status == 200 { return }
            usleep(20_000)
        }
        throw LoadtestError.notAnswering("pane hub", what: "/healthz on port \(hubPort)", seconds: 12, log: "\(directory)/hub.log")
    }

    /// SIGTERM to the hub: it finishes its publish round and exits.
    func stopHub() {
        let current = lock.withLock { () -> ChildProcess? in
            defer { hub = nil }
            return hub
        }
        current.map { ProcessControl.stop($0) }
    }

    /// Waits for a worker's `/readyz` (it has caught up with the stream once), or another path.
    func waitReady(_ worker: WorkerHandle, path: String = "/readyz", seconds: Double = 60) throws {
        let probe = HTTPProbe(port: worker.httpPort, timeoutMs: 1_000, token: readToken)
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if !worker.isRunning { throw LoadtestError.processExited(worker.name, log: worker.logPath) }
            if (try? probe.get(path))?.status == 200 { return }
            usleep(20_000)
        }
        throw LoadtestError.notAnswering(worker.name, what: path, seconds: Int(seconds), log: worker.logPath)
    }

    /// Replica labels with their SQLite files, in scenario order.
    var replicaFiles: [(label: String, region: String, replica: String, path: String)] {
        var seen = Set<String>()
        var result: [(label: String, region: String, replica: String, path: String)] = []
        for worker in workers where seen.insert(worker.label).inserted {
            result.append((worker.label, worker.region, worker.replica, worker.databasePath))
        }
        return result
    }

    /// Stops every process: workers, hub, then redis.
    func shutdown(log: (String) -> Void = { _ in }) {
        let started = DispatchTime.now()
        func elapsed() -> String { String(format: "%.2f s", WriteDriver.seconds(since: started)) }
        for worker in workers { worker.stop() }
        log("workers stopped after \(elapsed())")
        stopHub()
        log("hub stopped after \(elapsed())")
        redis.stop()
        log("redis stopped after \(elapsed())")
    }
}
