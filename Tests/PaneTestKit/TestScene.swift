import Foundation
import Logging
import PaneCore
import PaneHub
import PaneRedis
import PaneRuntime
import Testing

/// One test's world: a fresh folder, regions no other test uses, and the spokes it starts. When
/// the test body ends (or throws) the spokes are stopped and the regions' keys deleted.
public final class TestScene: Sendable {
    public let directory: String
    public let regions: [Region]
    /// The Redis of the scene's regions, spokes and hubs: the test run's, unless ``run(_:regions:redis:_:)`` was given another.
    public let redis: RedisEndpoint
    private let spokes = Locked<[SpokeProcess]>([])

    init(_ name: String, regions prefixes: [String], redis: RedisEndpoint?) throws {
        directory = try TestEnv.directory(name)
        regions = try prefixes.map { try TestEnv.region($0) }
        self.redis = try redis ?? TestEnv.redis()
    }

    /// Runs `body` in a new scene whose folder is named after `name` and whose regions are named
    /// after `regions` (default: one region named after `name`), on `redis` (default: the test
    /// run's).
    public static func run<T>(
        _ name: String, regions: [String]? = nil, redis: RedisEndpoint? = nil, _ body: (TestScene) async throws -> T
    ) async throws -> T {
        let scene = try TestScene(name, regions: regions ?? [name], redis: redis)
        return try await withCleanup { try await body(scene) } cleanup: { await scene.finish() }
    }

    /// A scene (see ``run(_:regions:redis:_:)``) with an in-process hub over its regions whose loops
    /// run while `body` runs (see ``InProcessHub/run(_:)``).
    public static func withHub<T>(
        _ name: String, regions: [String]? = nil, redis: RedisEndpoint? = nil, publisher: PublisherConfiguration = PublisherConfiguration(),
        resync: ResyncConfiguration = ResyncConfiguration(), logger: Logger = TestEnv.logger,
        _ body: (TestScene, InProcessHub) async throws -> T
    ) async throws -> T {
        try await run(name, regions: regions, redis: redis) { scene in
            try await scene.withHub(publisher: publisher, resync: resync, logger: logger) { hub in try await body(scene, hub) }
        }
    }

    /// The first (often the only) region.
    public var region: Region { regions[0] }

    /// A path in the scene's folder.
    public func path(_ name: String) -> String { "\(directory)/\(name)" }

    /// The replica file of `replica` of `region` (default: the first region) in the scene's folder.
    public func replicaPath(_ replica: String = "a", region: Region? = nil) -> String {
        path("\((region ?? self.region).name)-\(replica).sqlite")
    }

    public func connection() throws -> RedisConnection { try RedisConnection(endpoint: redis) }

    /// Starts a `pane spoke` for `replica` of `region` (default: the first region), with its file at
    /// `db` (default: ``replicaPath(_:region:)``); it is stopped when the scene ends.
    @discardableResult
    public func spoke(
        _ replica: String = "a", region: Region? = nil, db: String? = nil, consumer: String? = nil, extra: [String] = [],
        environment: [String: String] = [:], redis login: RedisEndpoint? = nil
    ) throws -> SpokeProcess {
        let region = region ?? self.region
        let spoke = try SpokeProcess.start(
            region: region, replica: replica, db: db ?? replicaPath(replica, region: region), dir: directory, consumer: consumer,
            extra: extra, environment: environment, redis: login ?? redis)
        spokes.withLock { $0.append(spoke) }
        return spoke
    }

    /// An in-process hub over the scene's regions, its store in the scene's folder; see
    /// ``InProcessHub/run(_:)``.
    public func hub(
        publisher: PublisherConfiguration = PublisherConfiguration(),
        resync: ResyncConfiguration = ResyncConfiguration(), logger: Logger = TestEnv.logger
    ) throws -> InProcessHub {
        try InProcessHub(regions: regions, dir: directory, redis: redis, publisher: publisher, resync: resync, logger: logger)
    }

    /// Runs the hub's loops (``hub(publisher:resync:logger:)``) while `body` runs.
    public func withHub<T>(
        publisher: PublisherConfiguration = PublisherConfiguration(),
        resync: ResyncConfiguration = ResyncConfiguration(), logger: Logger = TestEnv.logger,
        _ body: (InProcessHub) async throws -> T
    ) async throws -> T {
        try await hub(publisher: publisher, resync: resync, logger: logger).run(body)
    }

    /// Waits until `spoke`'s replica file holds exactly the hub's state of the spoke's region;
    /// throws at once when one of `alive` (default: `spoke`) exits.
    public func converges(
        _ hub: InProcessHub, _ spoke: SpokeProcess, alive: [SpokeProcess]? = nil, seconds: Double = 120
    ) async throws -> Convergence {
        try await Convergence.wait(hub: hub.store, region: spoke.region, db: spoke.db, alive: alive ?? [spoke], seconds: seconds)
    }

    /// The entries of `region`'s (default: the first region's) dead-letter stream, each as its
    /// fields in text (the first of a repeated field).
    public func deadLetters(region: Region? = nil) throws -> [[String: String]] {
        try connection().xrange(key: (region ?? self.region).keys.deadLetters).map { letter in
            Dictionary((letter.fields ?? []).map { ($0.0, String(decoding: $0.1, as: UTF8.self)) }) { first, _ in first }
        }
    }

    /// ``deadLetters(region:)`` once the stream holds `count` entries or `seconds` have passed.
    public func deadLetters(count: Int, seconds: Double, region: Region? = nil) async throws -> [[String: String]] {
        let conn = try connection()
        let key = (region ?? self.region).keys.deadLetters
        _ = try await eventually(seconds) { try conn.xlen(key: key) == count }
        return try deadLetters(region: region)
    }

    /// The one entry of the dead-letter stream once it holds one (within `seconds`), as text
    /// fields. Another count is recorded as an issue (with `log`, such as a spoke's log), and
    /// none throws.
    public func onlyDeadLetter(
        seconds: Double, region: Region? = nil, log: @autoclosure () -> String = "",
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> [String: String] {
        let letters = try await deadLetters(count: 1, seconds: seconds, region: region)
        #expect(letters.count == 1, "\(letters.count) dead letters. \(log())", sourceLocation: sourceLocation)
        return try #require(letters.first, sourceLocation: sourceLocation)
    }

    /// ``converges(_:_:alive:seconds:)``, recorded as an expectation that names the differences.
    public func expectConverges(
        _ hub: InProcessHub, _ spoke: SpokeProcess, alive: [SpokeProcess]? = nil, seconds: Double = 120,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let convergence = try await converges(hub, spoke, alive: alive, seconds: seconds)
        #expect(convergence.converged, "\(convergence)", sourceLocation: sourceLocation)
    }

    /// Stops every spoke the scene started (off the cooperative pool) and deletes the regions' keys.
    func finish() async {
        let started = spokes.value
        let (regions, redis) = (self.regions, self.redis)
        await BlockingThread.run(name: "test-scene-end") {
            for spoke in started { spoke.child.stop() }
            TestEnv.cleanUp(regions, redis: redis)
        }
    }
}
