import Foundation
import Logging
import Metrics
import PaneCore
import PaneRedis

/// Settings of the outbox publisher.
public struct PublisherConfiguration: Sendable {
    /// Outbox rows read per region per round; all regions of one Redis endpoint go out in one pipeline.
    public var batchSize: Int = 500
    /// How long an idle publisher waits for the doorbell before looking again.
    public var idleWaitMs: Int = 50
    /// Approximate cap on each region stream (`XADD ... MAXLEN ~ n`); 0 disables trimming.
    public var streamMaxLength: Int = 1_000_000
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

    /// Runs until `stop` is set; finishes the round in progress first.
    public func runBlocking(stop: StopFlag) {
        var clients: [RedisEndpoint: RedisClient] = [:]
        let groups = Dictionary(grouping: store.regions) { endpoints[$0] ?? RedisEndpoint(host: "127.0.0.1") }
        var xadds = 0
        logger.info("publisher started", metadata: ["regions": "\(store.regions.map(\.name).joined(separator: ","))"])
        while !stop.isStopped {
            var published = 0
            for (endpoint, regions) in groups.sorted(by: { $0.key.description < $1.key.description }) {
                let client = clients[endpoint] ?? RedisClient(endpoint: endpoint, logger: logger)
                clients[endpoint] = client
                do {
                    published += try publishRound(regions: regions, client: client, xadds: &xadds)
                } catch let error as RedisError {
                    logger.warning("publish round failed; will retry", metadata: ["redis": "\(endpoint)", "error": "\(error)"])
                    stop.sleep(ms: 100)
                } catch {
                    logger.error("publish round failed; will retry", metadata: ["error": "\(error)"])
                    stop.sleep(ms: 100)
                }
            }
            if published == 0 { store.doorbell.wait(ms: config.idleWaitMs) }
        }
        clients.values.forEach { $0.close() }
        logger.info("publisher stopped")
    }

    /// Publishes one batch per region of one endpoint in a single pipeline; returns entries confirmed.
    func publishRound(regions: [Region], client: RedisClient, xadds: inout Int) throws -> Int {
        var batches: [(Region, [ContextUpdate])] = []
        for region in regions {
            let rows = try store.outbox(region: region, limit: config.batchSize)
            if !rows.isEmpty { batches.append((region, rows)) }
        }
        guard !batches.isEmpty else { return 0 }
        var commands = RedisCommandBuffer(reservingCapacity: batches.reduce(0) { $0 + $1.1.count } * 400)
        for (region, rows) in batches {
            let key = Keys.updates(region)
            for update in rows {
                appendXadd(to: &commands, key: key, update: update)
            }
        }
        let replies = try client.run { conn throws(RedisError) in try conn.pipeline(commands) }
        xadds += commands.count
        if let limit = config.exitAfterXadds, xadds >= limit {
            logger.critical("test hook: exiting after XADD, before marking the outbox", metadata: ["xadds": "\(xadds)"])
            exit(86)
        }
        var index = 0
        var confirmed = 0
        for (region, rows) in batches {
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
                }
            }
            if let highest {
                try store.markPublished(region: region, upTo: highest)
                let count = rows.prefix { $0.seq <= highest }.count
                confirmed += count
                Counter(label: "pane_hub_published_total", dimensions: [("region", region.name)]).increment(by: count)
            }
        }
        return confirmed
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
            "CONFLICT: region stream's top is above our seq and the entry there is not ours; something other than the hub wrote to the stream (check the Redis ACL). Publishing to this region is held until resolved.",
            metadata: ["stream": "\(key)", "seq": "\(update.seq)", "ctx": "\(update.id)"])
        try recoverFromForeignEntries(region: region, ownSeq: update.seq, client: client)
        return .conflict
    }

    /// Moves entries that the hub did not write (ids past every seq it allocated) to the dead-letter
    /// stream, deletes them, and sets the stream's last id back to the hub's last published seq, so
    /// the next round can go on.
    private func recoverFromForeignEntries(region: Region, ownSeq: UInt64, client: RedisClient) throws {
        let key = Keys.updates(region)
        let lastAllocated = try store.lastSeq(region: region)
        let start = "(\(lastAllocated)-0"
        let foreign = try client.run { conn throws(RedisError) in try conn.xrange(key: key, start: start, end: "+", count: 1000) }
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

    /// `XADD key [MAXLEN ~ n] <seq>-0 ctx … sum …`, encoded straight into the pipeline buffer.
    private func appendXadd(to buffer: inout RedisCommandBuffer, key: String, update: ContextUpdate) {
        let fields = StreamEntryCodec.encode(update)
        let trim = config.streamMaxLength > 0
        buffer.begin(arguments: 3 + (trim ? 3 : 0) + fields.count * 2)
        buffer.argument("XADD")
        buffer.argument(key)
        if trim {
            buffer.argument("MAXLEN")
            buffer.argument("~")
            buffer.argument(config.streamMaxLength)
        }
        buffer.argument(StreamEntryCodec.entryID(seq: update.seq))
        for (name, value) in fields {
            buffer.argument(name)
            buffer.argument(value)
        }
    }
}
