/// What a scenario run measured and concluded; written as `report.json`.
public struct LoadReport: Sendable, Codable {
    /// One replica's figures.
    public struct Replica: Sendable, Codable, Equatable {
        public var region: String
        public var replica: String
        public var workers: Int
        /// Distinct entries applied (redeliveries counted once).
        public var applied: Int
        /// Entries applied per second, from the first write to this replica's last apply.
        public var applyRate: Double
        public var latencyMs: LatencySummary
        /// Entries the hub published to the region that this replica had not applied at the end.
        public var finalLag: Int
    }

    /// Point reads sent to one spoke while the writes ran (``ScenarioRunner/readRate``).
    public struct ReadLoad: Sendable, Codable, Equatable {
        /// `region/replica` and the route read.
        public var target: String
        /// Reads per second offered, and the threads (keep-alive connections) sending them.
        public var offeredRate: Double
        public var connections: Int
        /// Reads answered `200` or `404`, and reads that failed (another status, no answer).
        public var answered: Int
        public var errors: Int
        /// Answered reads per second over the writes' duration.
        public var rate: Double
        /// From each read's scheduled time to its answer.
        public var latencyMs: LatencySummary
        public var lastError: String
    }

    /// One fault as it happened.
    public struct FaultRecord: Sendable, Codable, Equatable {
        public var kind: String
        /// Seconds after the first write when it started.
        public var at: Double
        /// Seconds until it was over (the process back, the outage ended).
        public var seconds: Double
        /// What was hit, and how it went.
        public var detail: String
        /// Whether the fault did what it was meant to (for stopHub: every read answered).
        public var ok: Bool
    }

    /// Peak resources of one process.
    public struct ProcessFigures: Sendable, Codable, Equatable {
        public var name: String
        public var maxRssKB: Int
        public var cpuSeconds: Double
    }

    public var scenario: String
    public var date: String
    public var command: String
    /// Topology and load, as run.
    public var setup: [String: String]
    /// Writes the hub accepted.
    public var writes: Int
    /// Writes that were deletes (of existing contexts).
    public var deletes: Int
    /// Writes refused or unanswered (e.g. while the hub was stopped), and deletes of unknown ids.
    public var writeErrors: Int
    public var deletesOfUnknownIds: Int
    /// Seconds from the first write to the last.
    public var writeSeconds: Double
    /// Writes per second the hub accepted.
    public var writeRate: Double
    /// Stream entries published, all regions together.
    public var published: Int
    /// Entries per second published into the region streams, from the first write to the last publish.
    public var publishRate: Double
    public var replicas: [Replica]
    /// All replicas together.
    public var latencyMs: LatencySummary
    /// Seconds from the last write until every replica had applied everything.
    public var drainSeconds: Double
    /// Seconds from the first write until every replica had applied everything.
    public var totalSeconds: Double
    public var converged: Bool
    /// `PASS` or `FAIL`.
    public var verdict: String
    public var differenceCount: Int
    /// The first differences found.
    public var differences: [Difference]
    /// Entries in the regions' dead-letter streams.
    public var deadLetters: Int
    /// Poison entries injected, and the poison entries still pending, summed over every
    /// replica's consumer group (no dead-letter path yet).
    public var poisonInjected: Int
    public var poisonPending: Int
    /// Reads sent to the spokes while the hub was stopped: answered, and failed.
    public var outageReadsAnswered: Int
    public var outageReadsFailed: Int
    public var expectResync: Bool
    public var faults: [FaultRecord]
    public var processes: [ProcessFigures]
    public var redisMaxMemoryBytes: Int
    /// Why the verdict is FAIL, besides differences (a process died, quiescence timed out, …).
    public var problems: [String]
    /// What went wrong without changing the data verdict (e.g. entries applied but never acked).
    public var warnings: [String]
    public var timeline: [TimelineBucket]
    /// Reads during the writes, when the run asked for them (`--read-rate`).
    public var readLoad: ReadLoad?
    /// The writers' view of accepted write requests (a batch is one request): from each
    /// request's scheduled time to the hub's answer, and from its send to the answer. Nil in
    /// reports of runners from before they were measured.
    public var writeAnswerMs: LatencySummary?
    public var writeServiceMs: LatencySummary?
}
