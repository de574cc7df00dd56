import Foundation
import Logging
import PaneApp
import PaneCore
import PaneHub
import PaneRedis
import PaneRuntime
import PaneSpoke
import PaneStore

/// Shared set-up for tests against the real redis-server that `ops/test.sh` starts.
enum TestEnv {
    struct Missing: Error, CustomStringConvertible { let description: String }

    /// The private Redis of this test run. Missing means the tests were not started by ops/test.sh.
    static func redis() throws -> RedisEndpoint {
        guard let url = ProcessInfo.processInfo.environment["PANE_TEST_REDIS_URL"] else {
            throw Missing(description: "PANE_TEST_REDIS_URL is not set: run the tests with `bash ops/test.sh`, which starts a private redis-server")
        }
        return try RedisEndpoint(url: url)
    }

    /// The `pane` executable under test.
    static func paneBinary() throws -> String {
        if let path = ProcessInfo.processInfo.environment["PANE_BIN"] { return path }
        let guess = FileManager.default.currentDirectoryPath + "/.build/debug/pane"
        guard FileManager.default.isExecutableFile(atPath: guess) else {
            throw Missing(description: "pane binary not found: set PANE_BIN or run `bash ops/test.sh`")
        }
        return guess
    }

    /// A fresh folder for one test's files.
    static func directory(_ name: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pane-it-\(name)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A region name no other test uses, so parallel tests never share streams.
    static func region(_ prefix: String) throws -> Region {
        try Region("t-\(prefix)-\(UUID().uuidString.prefix(8).lowercased())")
    }

    static func connection() throws -> RedisConnection {
        try RedisConnection(endpoint: redis())
    }

    static let logger: Logger = {
        var logger = Logger(label: "pane.test")
        logger.logLevel = .warning
        return logger
    }()

    /// Deletes every key of `regions`, so the shared Redis does not fill up.
    static func cleanUp(_ regions: [Region]) {
        guard let conn = try? connection() else { return }
        for region in regions {
            let snapshots = (try? conn.keys(matching: region.keys.snapshots)) ?? []
            _ = try? conn.del(region.keys.all + snapshots)
        }
    }
}

/// Polls `condition` until it holds or `seconds` pass.
func eventually(_ seconds: Double, poll: Double = 0.1, _ condition: () throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        try? await Task.sleep(for: .milliseconds(Int(poll * 1000)))
    }
    return try condition()
}

/// A hub in the test process: its store, its publisher and (when `resync` is given) its resync
/// worker, each on a thread of its own.
final class InProcessHub: @unchecked Sendable {
    let store: HubStore
    let stopFlag = StopFlag()
    let done = DispatchSemaphore(value: 0)
    let threads: Int

    convenience init(
        regions: [Region], dir: String, redis: RedisEndpoint? = nil, publisher: PublisherConfiguration = PublisherConfiguration(),
        resync: ResyncConfiguration? = nil
    ) throws {
        try self.init(
            store: try HubStore(path: "\(dir)/hub.sqlite", regions: regions), regions: regions, redis: redis, publisher: publisher,
            resync: resync)
    }

    /// A hub around a store the test opened (and may already have written to).
    init(
        store: HubStore, regions: [Region], redis: RedisEndpoint? = nil, publisher: PublisherConfiguration = PublisherConfiguration(),
        resync: ResyncConfiguration? = nil
    ) throws {
        self.store = store
        let redis = try redis ?? TestEnv.redis()
        let endpoints = Dictionary(uniqueKeysWithValues: regions.map { ($0, redis) })
        let publisher = Publisher(store: store, endpoints: endpoints, config: publisher, logger: TestEnv.logger)
        let flag = stopFlag
        let done = self.done
        Thread {
            do { try publisher.runBlocking(stop: flag) } catch { TestEnv.logger.error("publisher failed: \(error)") }
            done.signal()
        }.start()
        threads = resync == nil ? 1 : 3
        if var resync {
            resync.consumer = "hub-test-\(UUID().uuidString.prefix(8))"
            let worker = ResyncWorker(store: store, endpoints: endpoints, config: resync, logger: TestEnv.logger)
            Thread {
                do { try worker.runBlocking(stop: flag) } catch { TestEnv.logger.error("worker failed: \(error)") }
                done.signal()
            }.start()
            let retention = RetentionWorker(store: store, endpoints: endpoints, config: resync, logger: TestEnv.logger)
            Thread {
                do { try retention.runBlocking(stop: flag) } catch { TestEnv.logger.error("retention failed: \(error)") }
                done.signal()
            }.start()
        }
    }

    func stop() {
        stopFlag.stop()
        store.doorbell.ring()
        for _ in 0..<threads { done.wait() }
    }

    /// Whether every outbox row has been published.
    func drained() throws -> Bool { try store.outboxDepth().values.allSatisfy { $0 == 0 } }
}

/// A `pane spoke` process.
struct SpokeProcess {
    let child: ChildProcess
    let port: Int
    let db: String

    static func start(
        region: Region, replica: String, db: String, dir: String, consumer: String? = nil, extra: [String] = [],
        environment: [String: String] = [:], redis: RedisEndpoint? = nil
    ) throws -> SpokeProcess {
        let port = LocalPorts.free()
        var args = [
            "spoke", "--redis", try (redis ?? TestEnv.redis()).description, "--region", region.name, "--replica", replica,
            "--db", db, "--http", "127.0.0.1:\(port)", "--log-level", "info", "--block-ms", "200",
        ]
        if let consumer { args += ["--consumer", consumer] }
        args += extra
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        let child = try ChildProcess(
            name: "spoke", executable: try TestEnv.paneBinary(), arguments: args,
            logPath: "\(dir)/spoke-\(region.name)-\(replica)-\(port).log", environment: env)
        return SpokeProcess(child: child, port: port, db: db)
    }

    func probe() -> HTTPProbe { HTTPProbe(port: port, timeoutMs: 5_000) }

    func log() -> String { (try? String(contentsOfFile: child.logPath, encoding: .utf8)) ?? "" }
}

/// Waits until the replica file at `db` holds exactly the hub's state of `region`.
/// Fails at once when one of `alive` has exited.
func converges(hub: HubStore, region: Region, db: String, alive: [SpokeProcess], seconds: Double = 120) async throws -> Bool {
    let expected = try hub.state(of: region)
    let replica = try ReplicaStore(path: db)
    return try await eventually(seconds, poll: 0.25) {
        if let dead = alive.first(where: { !$0.child.isRunning }) {
            throw TestEnv.Missing(description: "a spoke exited: \(dead.log().suffix(800))")
        }
        return try replica.state() == expected
    }
}

/// A readable difference between two states, for failure messages.
func difference(_ expected: [ContextID: VersionState], _ actual: [ContextID: VersionState]) -> String {
    var lines: [String] = []
    for (id, state) in expected where actual[id] != state {
        lines.append("\(id): hub \(state), replica \(actual[id].map(\.description) ?? "missing")")
    }
    for id in actual.keys where expected[id] == nil { lines.append("\(id): only in replica") }
    return "\(lines.count) differences: " + lines.prefix(10).joined(separator: "; ")
}
