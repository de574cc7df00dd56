import Foundation
import Logging
import Metrics
import PaneCore
import PaneRedis

/// Settings of the outbox publisher.
public struct PublisherConfiguration: Sendable {
    /// Outbox rows read per region per round; all regions of one Redis endpoint go out in one
    /// pipeline. 2,000 measured about 25% faster than 500 (docs/benchmarks.md).
    public var batchSize: Int = 2_000
    /// How long an idle publisher waits for the doorbell before looking again.
    public var idleWaitMs: Int = 50
    /// How often the published seqs confirmed in memory are written to the store (and the
    /// published outbox rows deleted): one write transaction per interval instead of one per
    /// round. A crash re-sends at most this much, which the publisher recognises as its own.
    public var persistIntervalMs: Int = 200
    /// Test hook: exit the process (code 86) right after this many XADDs, before marking the
    /// outbox, to prove that re-publishing after a crash duplicates nothing.
    public var exitAfterXadds: Int? = nil

    public init() {}
}

/// Drains the hub's outbox into the region streams, on a thread of its own.
///
/// Every entry id is `<seq>-0`. A refusal "equal or smaller than the target stream top item"
/// means either the entry is already there (the hub crashed after XADD, before marking) or
/// somebody else lifted the stream's top: XRANGE at `<seq>-0` tells which.
public final class Publisher: Sendable {
    let store: HubStore
    let endpoints: [Region: RedisEndpoint]
    let config: PublisherConfiguration
    let logger: Logger

    public init(store: HubStore, endpoints: [Region: RedisEndpoint], config: PublisherConfiguration, logger: Logger) {
        self.store = store
        self.endpoints = endpoints
        self.config = config
        self.logger = logger
    }

    /// Runs until `stop` is set. Then it publishes what is left in the outbox (the HTTP server
    /// has stopped taking writes by then) and confirms the rounds in flight; if Redis fails
    /// during that drain, it stops at once and the rest waits in the outbox for the next start.
    public func runBlocking(stop: StopFlag) {
        let lanes = RedisEndpoint.lanes(store.regions, endpoints).map { endpoint, regions in
            Lane(client: RedisClient(endpoint: endpoint, logger: logger), regions: regions)
        }
        var xadds = 0
        var lastPersist = ContinuousClock.now
        let persistInterval = Duration.milliseconds(config.persistIntervalMs)
        logger.info("publisher started", metadata: ["regions": "\(store.regions.map(\.name).joined(separator: ","))"])
        var draining = true
        while !stop.isStopped || draining || lanes.contains(where: { $0.inflight != nil }) {
            var busy = false
            for lane in lanes {
                do {
                    busy = try step(lane, xadds: &xadds, sending: !stop.isStopped || draining) || busy
                } catch {
                    if stop.isStopped { draining = false }
                    // Replies still in flight are unread: drop the connection and start again from
                    // the outbox, whose rows stay until confirmed. Re-sent entries that did land are
                    // recognised as our own and not duplicated.
                    lane.reset()
                    if error is PublishReset {
                        continue
                    }
                    logger.warning("publish round failed; will retry", metadata: ["redis": "\(lane.client.endpoint)", "error": "\(error)"])
                    stop.sleep(ms: 100)
                }
            }
            if !busy && stop.isStopped { draining = false }
            if ContinuousClock.now - lastPersist >= persistInterval {
                persist()
                lastPersist = .now
            }
            if !busy && !stop.isStopped {
                store.doorbell.wait(ms: config.idleWaitMs)
            }
        }
        persist()
        lanes.forEach { $0.client.close() }
        logger.info("publisher stopped")
    }

    /// Writes the confirmed marks and deletes the published outbox rows.
    private func persist() {
        do { try store.persistPublished() } catch {
            logger.warning("could not record the published seqs; will retry", metadata: ["error": "\(error)"])
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
        var batches: [(Region, [ContextUpdate])]
        var count: Int
    }

    /// Thrown after a conflict was handled, to restart the lane from the outbox.
    struct PublishReset: Error {}

    /// Sends the next round (when `sending`), then confirms the round before it. Returns whether
    /// anything was sent or confirmed.
    func step(_ lane: Lane, xadds: inout Int, sending: Bool) throws -> Bool {
        var next: Round?
        if sending {
            var batches: [(Region, [ContextUpdate])] = []
            for region in lane.regions {
                // The in-memory tail serves a region once everything its last table read saw
                // was sent; until then (a backlog, a restart, a reset) the table is read.
                let rows: [ContextUpdate]
                if let sent = lane.sentUpTo[region], let seen = lane.tableSeq[region], sent >= seen,
                    let tail = store.takeFresh(region: region, after: sent, limit: config.batchSize)
                {
                    rows = tail
                } else {
                    let read = try store.outbox(region: region, after: lane.sentUpTo[region] ?? 0, limit: config.batchSize)
                    rows = read.updates
                    lane.tableSeq[region] = read.lastSeq
                    // Nothing unpublished: every seq up to the last allocated one is in the stream
                    // (or in flight).
                    if rows.isEmpty { lane.sentUpTo[region] = max(lane.sentUpTo[region] ?? 0, read.lastSeq) }
                }
                if !rows.isEmpty { batches.append((region, rows)) }
            }
            if !batches.isEmpty {
                let count = batches.reduce(0) { $0 + $1.1.count }
                var commands = RedisCommandBuffer(reservingCapacity: count * 400)
                for (region, rows) in batches {
                    let key = Keys.updates(region)
                    for update in rows { appendXadd(to: &commands, key: key, update: update) }
                }
                try lane.client.run { conn throws(RedisError) in try conn.send(commands) }
                for (region, rows) in batches { lane.sentUpTo[region] = rows.last?.seq }
                next = Round(batches: batches, count: count)
                xadds += count
            }
        }
        let previous = lane.inflight
        lane.inflight = next
        if let limit = config.exitAfterXadds, xadds >= limit {
            // Test hook: wait until Redis has every XADD we sent, then die before marking any.
            for round in [previous, next].compactMap({ $0 }) {
                _ = try lane.client.run { conn throws(RedisError) in try conn.receive(round.count) }
            }
            logger.critical("test hook: exiting after XADD, before marking the outbox", metadata: ["xadds": "\(xadds)"])
            exit(86)
        }
        guard let previous else { return next != nil }
        let replies = try lane.client.run { conn throws(RedisError) in try conn.receive(previous.count, command: "XADD") }
        if let current = lane.inflight, replies.contains(where: \.isError) {
            // A refusal needs XRANGE on this connection: read the next round's replies first so
            // the connection is idle, then confirm both rounds in order.
            let currentReplies = try lane.client.run { conn throws(RedisError) in try conn.receive(current.count, command: "XADD") }
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
                Counter(label: "pane_hub_published_total", dimensions: [("region", region.name)]).increment(by: count)
            }
        }
        if conflict { throw PublishReset() }
    }

    enum Outcome { case published, conflict }

    private func outcome(of reply: RESPValue, region: Region, update: ContextUpdate, client: RedisClient) throws -> Outcome {
        guard case .error(let message) = reply else { return .published }
        guard message.contains("equal or smaller than the target stream top item") else {
            throw RedisError(.server, message, command: "XADD")
        }
        let key = Keys.updates(region)
        let id = StreamEntryCodec.entryID(seq: update.seq)
        let existing = try client.run { conn throws(RedisError) in try conn.xrange(key: key, start: id, end: id) }
        if let entry = existing.first, let fields = entry.fields,
            let decoded = try? StreamEntryCodec.decode(entryID: entry.id, fields: fields, rules: BodyRules(maxBytes: Int.max)),
            decoded.id == update.id, decoded.version == update.version
        {
            // Our own entry: the hub died after XADD and before marking the outbox.
            Counter(label: "pane_hub_republish_skipped_total", dimensions: [("region", region.name)]).increment()
            return .published
        }
        Counter(label: "pane_hub_publish_conflicts_total", dimensions: [("region", region.name)]).increment()
        logger.error(
            "CONFLICT: region stream's top is above our seq and the entry there is not ours; something other than the hub wrote to the stream (check the Redis ACL). Moving the foreign entries aside.",
            metadata: ["stream": "\(key)", "seq": "\(update.seq)", "ctx": "\(update.id)"])
        // A foreign entry at our very id is moved aside too; then the XADD is tried once more.
        let atOurID = existing.first.map { [$0] } ?? []
        try recoverFromForeignEntries(region: region, ownSeq: update.seq, also: atOurID, client: client)
        let retry = try client.run { conn throws(RedisError) in
            try conn.pipeline([RedisConnection.xaddArguments(key: key, id: id, fields: StreamEntryCodec.encode(update))])[0]
        }
        if !retry.isError { return .published }
        if !atOurID.isEmpty {
            // Our own later entries already sit above this id: it can never be placed. Skip it;
            // the replicas see the missing seq as a gap and resync.
            Counter(label: "pane_hub_seqs_skipped_total", dimensions: [("region", region.name)]).increment()
            logger.error(
                "seq could not be published after a foreign entry took its id; skipped, replicas will resync it",
                metadata: ["stream": "\(key)", "seq": "\(update.seq)", "ctx": "\(update.id)"])
            return .published
        }
        return .conflict
    }

    /// Moves entries that the hub did not write (ids past every seq it allocated, and `also`) to
    /// the dead-letter stream, deletes them, and sets the stream's last id back to its top entry,
    /// so the next round can go on.
    private func recoverFromForeignEntries(region: Region, ownSeq: UInt64, also: [StreamEntry] = [], client: RedisClient) throws {
        let key = Keys.updates(region)
        let lastAllocated = try store.lastSeq(region: region)
        let start = "(\(lastAllocated)-0"
        let foreign = try also + client.run { conn throws(RedisError) in try conn.xrange(key: key, start: start, end: "+", count: 1000) }
        guard !foreign.isEmpty else { return }
        try client.run { conn throws(RedisError) in
            var commands: [[RedisArgument]] = [["MULTI"]]
            for entry in foreign {
                var fields = entry.fields ?? []
                fields.append(("error", Array("foreign entry: not written by the hub; its id lifted the stream top".utf8)))
                fields.append(("original-id", Array(entry.id.utf8)))
                fields.append(("time", Array(String(WallClock.nowMs()).utf8)))
                commands.append(RedisConnection.xaddArguments(key: Keys.deadLetters(region), id: "*", fields: fields))
                commands.append(["XDEL", RedisArgument(key), RedisArgument(entry.id)])
            }
            commands.append(["EXEC"])
            let replies = try conn.pipeline(commands)
            if case .error(let message) = replies.last ?? .null { throw RedisError(.server, message, command: "EXEC") }
            // The last id a hub entry can have is the last seq it published; lowering it lets XADD go on.
            let top = try conn.xrevrange(key: key, count: 1).first?.id ?? "0-0"
            try conn.command(["XSETID", RedisArgument(key), RedisArgument(top)])
        }
        logger.error(
            "moved foreign entries to the dead-letter stream and reset the stream's last id",
            metadata: ["stream": "\(key)", "moved": "\(foreign.count)", "ownSeq": "\(ownSeq)"])
    }

    /// `XADD key <seq>-0 ctx … sum …`, encoded straight into the pipeline buffer. No MAXLEN:
    /// the ``ResyncWorker`` trims each stream behind its live replicas (retention).
    private func appendXadd(to buffer: inout RedisCommandBuffer, key: String, update: ContextUpdate) {
        buffer.begin(arguments: 3 + StreamEntryCodec.fieldCount * 2)
        buffer.argument("XADD")
        buffer.argument(key)
        buffer.argument(Int(truncatingIfNeeded: update.seq), suffix: StreamEntryCodec.entryIDSuffix)
        var sink = BufferSink(buffer: buffer)
        buffer = RedisCommandBuffer()  // hand the storage over without a copy
        StreamEntryCodec.encode(update, into: &sink)
        buffer = sink.buffer
    }
}

/// Writes entry fields as XADD arguments.
struct BufferSink: StreamFieldSink {
    var buffer: RedisCommandBuffer
    mutating func field(_ name: String, text: String) {
        buffer.argument(name)
        buffer.argument(text)
    }
    mutating func field(_ name: String, bytes: [UInt8]) {
        buffer.argument(name)
        buffer.argument(bytes)
    }
    mutating func field(_ name: String, integer: Int64) {
        buffer.argument(name)
        buffer.argument(Int(integer))
    }
}

extension RedisEndpoint {
    /// `regions` grouped by the Redis endpoint that holds them (the default endpoint when none is
    /// named), in a stable order: the publisher and the resync worker keep one lane per endpoint.
    static func lanes(_ regions: [Region], _ endpoints: [Region: RedisEndpoint]) -> [(RedisEndpoint, [Region])] {
        let groups = Dictionary(grouping: regions) { endpoints[$0] ?? RedisEndpoint(host: "127.0.0.1") }
        return groups.keys.sorted { $0.description < $1.description }.map { ($0, groups[$0] ?? []) }
    }
}
