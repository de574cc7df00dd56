import Foundation
import Logging
import PaneCore
import PaneHub
import PaneRedis
import PaneStore
import ServiceLifecycle

/// A hub in the test process: its store, and the long-running services `pane hub` runs
/// (``Hub/loops()``: the publisher, the resync worker and retention) in a `ServiceGroup` while a
/// test body runs. Without the HTTP server: tests write through ``store``.
public struct InProcessHub: Sendable {
    public let hub: Hub
    let logger: Logger

    /// Opens the hub's store at `dir/hub.sqlite` (or `database`); nothing runs until ``run(_:)``,
    /// so a test may write a backlog first. With `cluster`, every region lives in that Redis Cluster.
    public init(
        regions: [Region], dir: String, database: String? = nil, redis: RedisEndpoint? = nil, cluster: ClusterMap? = nil,
        publisher: PublisherConfiguration = PublisherConfiguration(), resync: ResyncConfiguration = ResyncConfiguration(),
        logger: Logger = TestEnv.logger, durability: HubDurability = .full
    ) throws {
        var config = HubConfiguration(regions: regions)
        config.durability = durability
        config.defaultRedis = try redis ?? TestEnv.redis()
        config.redisCluster = cluster
        config.databasePath = database ?? "\(dir)/hub.sqlite"
        config.publisher = publisher
        config.resync = resync
        config.resync.consumer = "hub-test-\(UUID().uuidString.prefix(8))"
        hub = try Hub(config: config, logger: logger)
        self.logger = logger
    }

    public var store: HubStore { hub.store }
    public var regions: [Region] { hub.config.regions }
    /// The Redis every region of this hub publishes to.
    public var redis: RedisEndpoint { hub.config.defaultRedis }

    /// Runs the hub's loops while `body` runs, then shuts them down gracefully (each finishes its
    /// round, the publisher last) and waits for them. The body's error comes first, then the
    /// group's.
    public func run<T>(_ body: (InProcessHub) async throws -> T) async throws -> T {
        let group = ServiceGroup(services: hub.loops(), logger: logger)
        let running = Task(executorPreference: DedicatedExecutor(label: "test-hub")) { try await group.run() }
        return try await withCleanup {
            try await body(self)
        } cleanup: {
            await group.triggerGracefulShutdown()
            try await running.value
        }
    }

    /// Whether every outbox row has been published.
    public func drained() throws -> Bool { try store.outboxDepth().values.allSatisfy { $0 == 0 } }
}
