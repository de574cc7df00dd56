import Foundation
import Logging
import Metrics
import PaneCore
import PaneRedis
import PaneRuntime
import PaneStore

/// The hub's side of resync, on a thread of its own: serves resync requests with snapshots
/// (Resync/) and compares the replicas' digests with the hub's (AntiEntropy/), answering a
/// difference with a snapshot of the differing buckets. Retention has a worker of its own.
///
/// Requests arrive in `pane:{R}:resync` and are read through the consumer group `hub`. The
/// requests read in one round for one region are served by one snapshot: every bucket if any
/// request asks for all, otherwise the union of the buckets asked for. A snapshot is written to
/// `pane:{R}:snapshot:<epoch>` as a list of chunks, then announced by a `snap` entry that goes
/// through the outbox like any update, so it gets the region's next seq. The requests are acked
/// only after the announcement is in the outbox; if the hub dies before that, they stay pending
/// and the next hub serves them.
public final class ResyncWorker: Sendable {
    let store: HubStore
    /// Where the regions live in Redis.
    let redis: RedisTopology
    let config: ResyncConfiguration
    let logger: Logger
    let faults: FaultPoints

    public init(
        store: HubStore, redis: RedisTopology, config: ResyncConfiguration, logger: Logger, faults: FaultPoints = .active
    ) {
        self.store = store
        self.redis = redis
        self.config = config
        self.logger = logger
        self.faults = faults
    }

    /// Runs until `stop` is set; a snapshot in progress is finished and announced first.
    ///
    /// Redis errors are retried for as long as they last. Other failures of serving requests,
    /// or of anti-entropy, count in a ``FailureStreak`` each; when one says stop, the worker
    /// throws (``RetriesExhausted``).
    public func runBlocking(stop: StopFlag) throws {
        let lanes = redis.lanes(store.regions).map { lane in
            Lane(client: lane.client(readTimeoutMs: config.blockMs + 5_000, logger: logger), regions: lane.regions)
        }
        defer {
            lanes.forEach { $0.client.close() }
            logger.info("resync service stopped")
        }
        let started = ContinuousClock.now
        var state = State()
        var requests = FailureStreak()
        var comparisons = FailureStreak()
        let blockMs = max(10, config.blockMs / max(1, lanes.count))
        var nextAntiEntropy = WallClock.nowMs() + Int64(config.antiEntropyIntervalMs)
        logger.info("resync service started", metadata: ["regions": "\(store.regions.map(\.name).joined(separator: ","))"])
        while !stop.isStopped {
            try faults.failIfDue(.resync, started: started)
            for lane in lanes where !stop.isStopped {
                do {
                    try serveRequests(lane, blockMs: blockMs, state: &state)
                    requests.succeeded()
                } catch {
                    lane.reset()
                    try requests.record(error)
                    logger.warning(
                        "resync round failed; will retry", metadata: ["redis": "\(lane.client.endpoint)", "error": "\(error)"])
                    stop.sleep(ms: 200)
                }
            }
            let now = WallClock.nowMs()
            if now >= nextAntiEntropy && !stop.isStopped {
                nextAntiEntropy = now + Int64(config.antiEntropyIntervalMs)
                for lane in lanes {
                    do {
                        try antiEntropy(lane, state: &state)
                        comparisons.succeeded()
                    } catch {
                        lane.client.close()
                        try comparisons.record(error)
                        logger.warning("anti-entropy round failed; will retry", metadata: ["redis": "\(lane.client.endpoint)", "error": "\(error)"])
                    }
                }
            }
        }
    }

    /// One Redis endpoint and the regions it serves.
    final class Lane {
        let client: RedisClient
        let regions: [Region]
        /// Whether the `hub` groups exist (as far as we know).
        var groupsReady = false
        /// Whether to read our own pending list before new requests.
        var readPending = true

        init(client: RedisClient, regions: [Region]) {
            self.client = client
            self.regions = regions
        }

        func reset() {
            client.close()
            groupsReady = false
            readPending = true
        }
    }

    /// What the loop remembers between rounds; only the worker's thread touches it.
    struct State {
        var lastEpoch: Int64 = 0
        /// `timeMs` of the last digest compared, per `region/replica`.
        var lastDigest: [String: Int64] = [:]
        /// Per region: the pending resyncs, the waiting requests and the snapshots of the last minute.
        var throttles: [Region: ResyncThrottle] = [:]
        /// When the throttle last logged, per region: a flood logs once every 10 s, not every round.
        var throttleLoggedMs: [Region: Int64] = [:]

        mutating func nextEpoch() -> Int64 {
            lastEpoch = max(lastEpoch + 1, WallClock.nowMs())
            return lastEpoch
        }
    }




}
