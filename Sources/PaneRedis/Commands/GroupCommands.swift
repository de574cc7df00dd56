/// Consumer-group commands (`XGROUP`, `XACK`, `XPENDING`, `XAUTOCLAIM`, `XINFO GROUPS|CONSUMERS`),
/// typed: each takes a ``StreamKey`` and a ``ConsumerGroup``. Reading through a group
/// (`XREADGROUP`) is in `StreamCommands.swift`.
extension RedisConnection {
    /// `XGROUP CREATE key group id MKSTREAM`; returns false when the group already existed.
    /// https://redis.io/docs/latest/commands/xgroup-create/
    @discardableResult
    public func xgroupCreate(key: StreamKey, group: ConsumerGroup, startID: String = "0") throws(RedisError) -> Bool {
        do {
            try command(["XGROUP", "CREATE", RedisArgument(key), RedisArgument(group), RedisArgument(startID), "MKSTREAM"])
            return true
        } catch where error.kind == .server && error.message.hasPrefix("BUSYGROUP") {
            return false
        }
    }

    /// `XGROUP SETID key group id`: moves the group's last delivered id.
    /// https://redis.io/docs/latest/commands/xgroup-setid/
    public func xgroupSetID(key: StreamKey, group: ConsumerGroup, id: String) throws(RedisError) {
        try command(["XGROUP", "SETID", RedisArgument(key), RedisArgument(group), RedisArgument(id)])
    }

    /// `XGROUP CREATECONSUMER key group consumer`; returns false when it already existed.
    /// https://redis.io/docs/latest/commands/xgroup-createconsumer/
    @discardableResult
    public func xgroupCreateConsumer(key: StreamKey, group: ConsumerGroup, consumer: ConsumerName) throws(RedisError) -> Bool {
        try command(["XGROUP", "CREATECONSUMER", RedisArgument(key), RedisArgument(group), RedisArgument(consumer)]).int == 1
    }

    /// `XGROUP DELCONSUMER key group consumer`; returns the pending entries it had.
    /// https://redis.io/docs/latest/commands/xgroup-delconsumer/
    @discardableResult
    public func xgroupDelConsumer(key: StreamKey, group: ConsumerGroup, consumer: ConsumerName) throws(RedisError) -> Int {
        Int(try command(["XGROUP", "DELCONSUMER", RedisArgument(key), RedisArgument(group), RedisArgument(consumer)]).int ?? 0)
    }

    /// `XGROUP DESTROY key group`; returns whether the group existed.
    /// https://redis.io/docs/latest/commands/xgroup-destroy/
    @discardableResult
    public func xgroupDestroy(key: StreamKey, group: ConsumerGroup) throws(RedisError) -> Bool {
        try command(["XGROUP", "DESTROY", RedisArgument(key), RedisArgument(group)]).int == 1
    }

    /// `XACK key group id ...`; returns how many were acknowledged.
    /// https://redis.io/docs/latest/commands/xack/
    @discardableResult
    public func xack(key: StreamKey, group: ConsumerGroup, ids: [String]) throws(RedisError) -> Int {
        guard !ids.isEmpty else { return 0 }
        var args: [RedisArgument] = ["XACK", RedisArgument(key), RedisArgument(group)]
        args.append(contentsOf: ids.map { RedisArgument($0) })
        return Int(try command(args).int ?? 0)
    }

    /// `XPENDING key group start end count [consumer]`, the extended form: one row per entry.
    /// https://redis.io/docs/latest/commands/xpending/
    public func xpending(
        key: StreamKey, group: ConsumerGroup, start: String = "-", end: String = "+", count: Int, consumer: ConsumerName? = nil
    ) throws(RedisError) -> [PendingEntry] {
        var args: [RedisArgument] = [
            "XPENDING", RedisArgument(key), RedisArgument(group), RedisArgument(start), RedisArgument(end), RedisArgument(count),
        ]
        if let consumer { args.append(RedisArgument(consumer)) }
        return PendingEntry.rows(try command(args))
    }

    /// `XPENDING key group`, the summary form: how many entries are pending, and for whom.
    /// https://redis.io/docs/latest/commands/xpending/
    public func xpendingSummary(key: StreamKey, group: ConsumerGroup) throws(RedisError) -> PendingSummary {
        let parts = try command(["XPENDING", RedisArgument(key), RedisArgument(group)]).array ?? []
        guard parts.count >= 4 else { throw RedisError(.protocolViolation, "unexpected XPENDING summary", command: "XPENDING") }
        var consumers: [ConsumerName: Int] = [:]
        for row in parts[3].array ?? [] {
            guard let pair = row.array, pair.count == 2, let name = pair[0].string, let pending = pair[1].int else { continue }
            consumers[ConsumerName(name)] = Int(pending)
        }
        return PendingSummary(count: Int(parts[0].int ?? 0), smallestID: parts[1].string, largestID: parts[2].string, consumers: consumers)
    }

    /// `XAUTOCLAIM key group consumer min-idle start COUNT n`: takes over entries other consumers
    /// left pending longer than `minIdleMs`. https://redis.io/docs/latest/commands/xautoclaim/
    public func xautoclaim(
        key: StreamKey, group: ConsumerGroup, consumer: ConsumerName, minIdleMs: Int, start: String, count: Int
    ) throws(RedisError) -> AutoClaim {
        let reply = try command([
            "XAUTOCLAIM", RedisArgument(key), RedisArgument(group), RedisArgument(consumer), RedisArgument(minIdleMs),
            RedisArgument(start), "COUNT", RedisArgument(count),
        ])
        guard let parts = reply.array, parts.count >= 2, let next = parts[0].string else {
            throw RedisError(.protocolViolation, "unexpected XAUTOCLAIM reply", command: "XAUTOCLAIM")
        }
        let entries = try StreamEntry.list(from: parts[1], command: "XAUTOCLAIM")
        let deleted = parts.count >= 3 ? (parts[2].array ?? []).compactMap(\.string) : []
        return AutoClaim(next: next, entries: entries, deleted: deleted)
    }

    /// `XINFO GROUPS key`: one field map per group (`name`, `pending`, `lag`, `last-delivered-id`,
    /// ...); `[]` when the stream does not exist.
    /// https://redis.io/docs/latest/commands/xinfo-groups/
    public func xinfoGroups(key: StreamKey) throws(RedisError) -> [[String: RESPValue]] {
        do {
            return try command(["XINFO", "GROUPS", RedisArgument(key)]).array?.map(\.fieldMap) ?? []
        } catch where error.kind == .server && error.message.contains("no such key") {
            return []
        }
    }

    /// `XINFO CONSUMERS key group`: `name`, `pending`, `idle` per consumer.
    /// https://redis.io/docs/latest/commands/xinfo-consumers/
    public func xinfoConsumers(key: StreamKey, group: ConsumerGroup) throws(RedisError) -> [[String: RESPValue]] {
        try command(["XINFO", "CONSUMERS", RedisArgument(key), RedisArgument(group)]).array?.map(\.fieldMap) ?? []
    }
}

/// One row of `XPENDING key group start end count [consumer]`.
public struct PendingEntry: Sendable, Equatable {
    public let id: String
    public let consumer: String
    public let idleMs: Int64
    public let deliveries: Int

    /// The rows of an extended XPENDING reply (as read from a pipeline too).
    public static func rows(_ reply: RESPValue) -> [PendingEntry] {
        (reply.array ?? []).compactMap { row in
            guard let fields = row.array, fields.count >= 4, let id = fields[0].string, let consumer = fields[1].string,
                let idle = fields[2].int, let deliveries = fields[3].int
            else { return nil }
            return PendingEntry(id: id, consumer: consumer, idleMs: idle, deliveries: Int(deliveries))
        }
    }
}

/// The reply of `XPENDING key group`.
public struct PendingSummary: Sendable, Equatable {
    /// Entries delivered and not acked yet.
    public let count: Int
    public let smallestID: String?
    public let largestID: String?
    /// Pending entries per consumer that has any.
    public let consumers: [ConsumerName: Int]
}

/// The reply of `XAUTOCLAIM`.
public struct AutoClaim: Sendable {
    /// Where the next scan starts; `0-0` when the scan went round the whole pending list.
    public let next: String
    public let entries: [StreamEntry]
    /// Pending ids whose entries were trimmed or deleted: Redis 7 drops them from the PEL and
    /// reports them here. Each is a gap.
    public let deleted: [String]
}

/// Consumer-group commands, pipelined: each appends one command to the buffer.
extension RedisCommandBuffer {
    /// `XACK key group id ...`. https://redis.io/docs/latest/commands/xack/
    public mutating func xack(key: StreamKey, group: ConsumerGroup, ids: [String]) {
        command("XACK", arguments: 2 + ids.count)
        argument(key)
        argument(group.rawValue)
        for id in ids { argument(id) }
    }

    /// `XPENDING key group start end count [consumer]`; read the reply with ``PendingEntry/rows(_:)``.
    /// https://redis.io/docs/latest/commands/xpending/
    public mutating func xpending(
        key: StreamKey, group: ConsumerGroup, start: String = "-", end: String = "+", count: Int, consumer: ConsumerName? = nil
    ) {
        command("XPENDING", arguments: 5 + (consumer == nil ? 0 : 1))
        argument(key)
        argument(group.rawValue)
        argument(start)
        argument(end)
        argument(count)
        if let consumer { argument(consumer.rawValue) }
    }

    /// `XINFO GROUPS key`; its reply is an error when the stream does not exist.
    /// https://redis.io/docs/latest/commands/xinfo-groups/
    public mutating func xinfoGroups(key: StreamKey) {
        command("XINFO", arguments: 2)
        argument("GROUPS")
        argument(key)
    }
}
