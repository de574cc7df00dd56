import PaneCore

/// A load-test scenario: the topology, the load, and the fault schedule.
///
/// Read from a JSON file by ``Scenario/parse(_:defaultName:)``; every key and its default is
/// listed in `loadtest/README.md`.
public struct Scenario: Sendable, Equatable {
    /// The scenario's name, for reports.
    public var name: String
    /// The regions the hub publishes to.
    public var regions: [Region]
    /// Replicas (consumer groups, SQLite files) per region.
    public var replicasPerRegion: Int
    /// Worker processes per replica, sharing its group and file.
    public var workersPerReplica: Int
    /// Distinct context ids the writes spread over.
    public var contexts: Int
    /// Size of each JSON body in bytes.
    public var bodyBytes: Int
    /// Writes per second, or as fast as the hub answers.
    public var writeRate: WriteRate
    /// Share of writes that are deletes, 0 to 1.
    public var deleteShare: Double
    /// Stop writing after this many seconds (when set).
    public var durationSeconds: Double?
    /// Stop writing after this many writes (when set).
    public var totalWrites: Int?
    /// Writer threads, each with its own keep-alive connection to the hub.
    public var writers: Int
    /// Writes per request: 1 sends single PUTs and DELETEs, more sends `POST /v1/batch` of
    /// that many distinct contexts.
    public var batchSize: Int
    /// The hub's outbox rows per region per pipeline round.
    public var hubBatchSize: Int
    /// Entries per spoke read and transaction.
    public var spokeBatchSize: Int
    /// Approximate cap on each region stream; 0 for none.
    public var streamMaxLength: Int
    /// The longest wait for every replica to catch up after the writes end.
    public var quiescenceSeconds: Double
    /// Seed of the writers' and the fault injector's random choices, so runs repeat.
    public var seed: UInt64
    /// The fault schedule.
    public var faults: [Fault]
    /// The scenario contains faults that only a resync can heal (a later issue): its verdict is
    /// reported, but a FAIL is expected until resync lands.
    public var expectResync: Bool
    /// Run on a private Redis Cluster instead of one redis-server (nil: one server).
    public var redisCluster: RedisClusterPlan?

    /// The shape of a scenario's private Redis Cluster (issue 14).
    public struct RedisClusterPlan: Sendable, Equatable {
        /// Masters: the slots are spread over them (`redis-cli --cluster create` needs at least 3).
        public var masters: Int
        /// Replicas of each master: a `killMaster` fault needs one to promote.
        public var replicasPerMaster: Int
        /// `cluster-node-timeout`: how long a dead master goes unnoticed before its replica takes over.
        public var nodeTimeoutMs: Int

        public init(masters: Int = 3, replicasPerMaster: Int = 1, nodeTimeoutMs: Int = 1_000) {
            self.masters = masters
            self.replicasPerMaster = replicasPerMaster
            self.nodeTimeoutMs = nodeTimeoutMs
        }
    }

    /// A scenario with the defaults of every optional key.
    public init(
        name: String, regions: [Region], replicasPerRegion: Int = 1, workersPerReplica: Int = 1, contexts: Int = 1_000,
        bodyBytes: Int = 256, writeRate: WriteRate = .perSecond(1_000), deleteShare: Double = 0, durationSeconds: Double? = nil,
        totalWrites: Int? = nil, writers: Int = 4, batchSize: Int = 1, hubBatchSize: Int = 500, spokeBatchSize: Int = 500,
        streamMaxLength: Int = 1_000_000, quiescenceSeconds: Double = 60, seed: UInt64 = 1, faults: [Fault] = [],
        expectResync: Bool = false, redisCluster: RedisClusterPlan? = nil
    ) {
        self.name = name
        self.regions = regions
        self.replicasPerRegion = replicasPerRegion
        self.workersPerReplica = workersPerReplica
        self.contexts = contexts
        self.bodyBytes = bodyBytes
        self.writeRate = writeRate
        self.deleteShare = deleteShare
        self.durationSeconds = durationSeconds
        self.totalWrites = totalWrites
        self.writers = writers
        self.batchSize = batchSize
        self.hubBatchSize = hubBatchSize
        self.spokeBatchSize = spokeBatchSize
        self.streamMaxLength = streamMaxLength
        self.quiescenceSeconds = quiescenceSeconds
        self.seed = seed
        self.faults = faults
        self.expectResync = expectResync
        self.redisCluster = redisCluster
    }

    /// Replica names of one region: `a`, `b`, ….
    public var replicaNames: [String] {
        (0..<replicasPerRegion).map { String(UnicodeScalar(UInt8(97 + $0))) }
    }
}
