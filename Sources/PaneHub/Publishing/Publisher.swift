import Foundation
import Logging
import Metrics
import PaneCore
import PaneStore
import PaneRedis
import PaneRuntime

/// Drains the hub's outbox into the region streams, on a thread of its own.
///
/// Every entry id is `<seq>-0`. A refusal "equal or smaller than the target stream top item"
/// means either the entry is already there (the hub crashed after XADD, before marking) or
/// somebody else lifted the stream's top: XRANGE at `<seq>-0` tells which.
///
/// Before a region's entries, each round writes the hub's highest seq for the region to
/// `pane:{R}:hub` (``RegionKeys/HubField/seq``), in the same pipeline: the workers check every
/// entry id against it (``EntryIDRule``).
public final class Publisher: Sendable {
    let store: HubStore
    /// Where the regions live in Redis.
    let redis: RedisTopology
    let config: PublisherConfiguration
    let logger: Logger
    let faults: FaultPoints
    /// What `/readyz` reads: whether the rounds reach Redis.
    let health: PublishHealth
    /// `pane_hub_published_total` per region, made once: a counter made per round costs a
    /// registry lookup (a lock and the labels hashed) on every round.
    let publishedCounters: [Region: Counter]

    public init(
        store: HubStore, redis: RedisTopology, config: PublisherConfiguration, logger: Logger,
        faults: FaultPoints = .active, health: PublishHealth = PublishHealth()
    ) {
        self.health = health
        self.store = store
        self.redis = redis
        self.config = config
        self.logger = logger
        self.faults = faults
        publishedCounters = Dictionary(
            uniqueKeysWithValues: store.regions.map { ($0, Counter(label: "pane_hub_published_total", dimensions: [("region", $0.name)])) })
    }

    /// Runs until `stop` is set. Then it publishes what is left in the outbox (the HTTP server
    /// has stopped taking writes by then) and confirms the rounds in flight; if Redis fails
    /// during that drain, it stops at once and the rest waits in the outbox for the next start.
    ///
    /// Redis errors are retried for as long as they last. Other failures of a round, or of
    /// recording the marks, count in a ``FailureStreak``; when it says stop, the publisher
    /// records what it can and throws (``RetriesExhausted``).
    public func runBlocking(stop: StopFlag) throws {
        let lanes = redis.lanes(store.regions).map { lane in
            Lane(client: lane.client(logger: logger), regions: lane.regions)
        }
        defer {
            do { try store.persistPublished() } catch {
                logger.warning("could not record the published seqs; the next start re-sends them", metadata: ["error": "\(error)"])
            }
            lanes.forEach { $0.client.close() }
            logger.info("publisher stopped")
            faults.hangIfDue(.publisher)
        }
        let started = ContinuousClock.now
        var xadds = 0
        var lastPersist = started
        let persistInterval = Duration.milliseconds(config.persistIntervalMs)
        var rounds = FailureStreak()
        var marks = FailureStreak()
        logger.info("publisher started", metadata: ["regions": "\(store.regions.map(\.name).joined(separator: ","))"])
        // The counters an alert watches exist from the start, at 0: a rate over a series that
        // appears only at its first increment misses that increment.
        for region in store.regions {
            for label in MetricCatalog.counters(.hub, labels: ["region"]) {
                Counter(label: label, dimensions: [("region", region.name)]).increment(by: 0)
            }
        }
        for lane in lanes {
            Counter(label: "pane_hub_publish_errors_total", dimensions: [("redis", lane.client.endpoint.description)]).increment(by: 0)
        }
        var draining = true
        while !stop.isStopped || draining || lanes.contains(where: { $0.inflight != nil }) {
            try faults.failIfDue(.publisher, started: started)
            var busy = false
            for lane in lanes {
                do {
                    busy = try step(lane, xadds: &xadds, sending: !stop.isStopped || draining) || busy
                    rounds.succeeded()
                    health.succeeded(.publisher)
                } catch {
                    if stop.isStopped { draining = false }
                    // Replies still in flight are unread: drop the connection and start again from
                    // the outbox, whose rows stay until confirmed. Re-sent entries that did land are
                    // recognised as our own and not duplicated.
                    lane.reset()
                    if error is PublishReset {
                        continue
                    }
                    health.failed(.publisher)
                    Counter(label: "pane_hub_publish_errors_total", dimensions: [("redis", lane.client.endpoint.description)]).increment()
                    try rounds.record(error)
                    logger.warning("publish round failed; will retry", metadata: ["redis": "\(lane.client.endpoint)", "error": "\(error)"])
                    stop.sleep(ms: 100)
                }
            }
            if !busy && stop.isStopped { draining = false }
            if ContinuousClock.now - lastPersist >= persistInterval {
                do {
                    // The confirmed marks, and the deletion of the published outbox rows.
                    try store.persistPublished()
                    marks.succeeded()
                } catch {
                    try marks.record(error)
                    logger.warning("could not record the published seqs; will retry", metadata: ["error": "\(error)"])
                }
                lastPersist = .now
            }
            if !busy && !stop.isStopped {
                store.doorbell.wait(ms: config.idleWaitMs)
            }
        }
    }

    /// The publishing state of one Redis endpoint: up to two rounds in flight, so Redis works on
    /// one while the publisher confirms the previous one and reads the next from the outbox.
    final class Lane {
        let client: RedisClient
        let regions: [Region]
        /// The round whose replies are not read yet.
        var inflight: Round?
        /// The highest seq sent per region; the next round starts after it.
        var sentUpTo: [Region: UInt64] = [:]
        /// The last allocated seq per region as of the last outbox table read.
        var tableSeq: [Region: UInt64] = [:]

        init(client: RedisClient, regions: [Region]) {
            self.client = client
            self.regions = regions
        }

        func reset() {
            client.close()
            inflight = nil
            sentUpTo = [:]
            tableSeq = [:]
        }
    }

    struct Round {
        /// Per region: the HSET of its highest seq, then one XADD per row.
        var batches: [(Region, [ContextUpdate])]
        /// The replies to read: one per batch and one per row.
        var count: Int
    }

    /// Thrown after a conflict was handled, to restart the lane from the outbox.
    struct PublishReset: Error {}

    /// Sends the next round (when `sending`), then confirms the round before it. Returns whether
    /// anything was sent or confirmed.
    func step(_ lane: Lane, xadds: inout Int, sending: Bool) throws -> Bool {
        var next: Round?
        if sending {
            // The in-memory tail serves a region once everything its last table read saw was
            // sent; the others (a backlog, a restart, a reset) are read from the table, all in
            // one pass.
            var tails: [Region: [ContextUpdate]] = [:]
            var fromTable: [Region: UInt64] = [:]
            for region in lane.regions {
                if let sent = lane.sentUpTo[region], let seen = lane.tableSeq[region], sent >= seen,
                    let tail = store.takeFresh(region: region, after: sent, limit: config.batchSize)
                {
                    tails[region] = tail
                } else {
                    fromTable[region] = lane.sentUpTo[region] ?? 0
                }
            }
            let reads = fromTable.isEmpty ? [:] : try store.outbox(after: fromTable, limit: config.batchSize)
            var batches: [(Region, [ContextUpdate])] = []
            for region in lane.regions {
                let rows: [ContextUpdate]
                if let tail = tails[region] {
                    rows = tail
                } else if let read = reads[region] {
                    rows = read.updates
                    lane.tableSeq[region] = read.lastSeq
                    // Nothing unpublished: every seq up to the last allocated one is in the stream
                    // (or in flight). A read cut short by another region's limit says nothing.
                    if rows.isEmpty && read.complete { lane.sentUpTo[region] = max(lane.sentUpTo[region] ?? 0, read.lastSeq) }
                } else {
                    continue
                }
                if !rows.isEmpty { batches.append((region, rows)) }
            }
            if !batches.isEmpty {
                let count = batches.reduce(0) { $0 + $1.1.count }
                var commands = RedisCommandBuffer(reservingCapacity: count * 400)
                var sums = SharedSums()
                for (region, rows) in batches {
                    // The hub's highest seq goes first, so a worker that reads one of these
                    // entries reads a seq at or above it afterwards (EntryIDRule).
                    let highest = max(lane.tableSeq[region] ?? 0, rows.last?.seq ?? 0)
                    commands.hset(key: region.keys.hub, field: RegionKeys.HubField.seq, value: Int(truncatingIfNeeded: highest))
                    let key = region.keys.updates
                    for update in rows { appendXadd(to: &commands, key: key, update: update, sums: &sums) }
                }
                // No row leaves before its commit is on disk (hub.durability).
                try store.syncBeforePublish()
                try lane.client.run { conn throws(RedisError) in try conn.send(commands) }
                for (region, rows) in batches { lane.sentUpTo[region] = rows.last?.seq }
                next = Round(batches: batches, count: count + batches.count)
                xadds += count
            }
        }
        let previous = lane.inflight
        lane.inflight = next
        if let limit = faults.exitAfterXadds, xadds >= limit {
            // Fault point: wait until Redis has every XADD we sent, then die before marking any.
            for round in [previous, next].compactMap({ $0 }) {
                _ = try lane.client.run { conn throws(RedisError) in try conn.receive(round.count) }
            }
            FaultPoints.exit(.afterXadds, logger: logger, "exiting after XADD, before marking the outbox", metadata: ["xadds": "\(xadds)"])
        }
        guard let previous else { return next != nil }
        let replies = try lane.client.run { conn throws(RedisError) in try conn.receive(previous.count) }
        if let current = lane.inflight, replies.contains(where: \.isError) {
            // A refusal needs XRANGE on this connection: read the next round's replies first so
            // the connection is idle, then confirm both rounds in order.
            let currentReplies = try lane.client.run { conn throws(RedisError) in try conn.receive(current.count) }
            lane.inflight = nil
            try confirm(previous, replies: replies, client: lane.client)
            try confirm(current, replies: currentReplies, client: lane.client)
            return true
        }
        try confirm(previous, replies: replies, client: lane.client)
        return true
    }

    /// Marks what Redis accepted (or already held as ours), region by region, up to the first
    /// conflict. A region's mark is recorded (in memory) as soon as its replies are read, so what
    /// was confirmed stays confirmed when a later region's outcome throws.
    func confirm(_ round: Round, replies: [RESPValue], client: RedisClient) throws {
        var index = 0
        var conflict = false
        for (region, rows) in round.batches {
            if case .error(let message) = replies[index] {
                // The marker is a safeguard for the workers; publishing goes on without it.
                logger.warning("could not write the hub's highest seq", metadata: ["key": "\(region.keys.hub)", "error": "\(message)"])
            }
            index += 1
            var highest: UInt64?
            var blocked = false
            for update in rows {
                let reply = replies[index]
                index += 1
                if blocked { continue }
                switch try outcome(of: reply, region: region, update: update, client: client) {
                case .published:
                    highest = update.seq
                case .conflict:
                    blocked = true
                    conflict = true
                }
            }
            if let highest {
                store.markPublished(region: region, upTo: highest)
                let count = rows.prefix { $0.seq <= highest }.count
                publishedCounters[region]?.increment(by: count)
            }
        }
        if conflict { throw PublishReset() }
    }

    enum Outcome { case published, conflict }

}
