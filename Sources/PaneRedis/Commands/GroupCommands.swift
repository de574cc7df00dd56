/// Consumer-group commands, typed.
extension RedisConnection {
    /// `XGROUP CREATE key group id MKSTREAM`; returns false when the group already existed.
    /// https://redis.io/docs/latest/commands/xgroup-create/
    @discardableResult
    public func xgroupCreate(key: String, group: String, startID: String = "0") throws(RedisError) -> Bool {
        do {
            try command(["XGROUP", "CREATE", RedisArgument(key), RedisArgument(group), RedisArgument(startID), "MKSTREAM"])
            return true
        } catch where error.kind == .server && error.message.hasPrefix("BUSYGROUP") {
            return false
        }
    }

    /// `XREADGROUP GROUP g c COUNT n [BLOCK ms] STREAMS key id`. Use id `>` for new entries and
    /// `0` for this consumer's own pending list. Returns `[]` when the block timed out.
    /// https://redis.io/docs/latest/commands/xreadgroup/
    public func xreadgroup(
        key: String, group: String, consumer: String, count: Int, blockMs: Int?, id: String = ">"
    ) throws(RedisError) -> [StreamEntry] {
        let args = Self.xreadgroupArguments(key: key, group: group, consumer: consumer, count: count, blockMs: blockMs, id: id)
        return try streamsCommand(args)
    }

    /// The arguments of XREADGROUP, for sending ahead with ``send(_:)``.
    public static func xreadgroupArguments(
        key: String, group: String, consumer: String, count: Int, blockMs: Int?, id: String = ">"
    ) -> [RedisArgument] {
        var args: [RedisArgument] = ["XREADGROUP", "GROUP", RedisArgument(group), RedisArgument(consumer), "COUNT", RedisArgument(count)]
        if let blockMs { args += ["BLOCK", RedisArgument(blockMs)] }
        args += ["STREAMS", RedisArgument(key), RedisArgument(id)]
        return args
    }

    /// The entries in an XREADGROUP reply (one stream); an error reply throws.
    public static func xreadgroupEntries(_ reply: RESPValue) throws(RedisError) -> [StreamEntry] {
        if case .error(let message) = reply { throw RedisError(.server, message, command: "XREADGROUP") }
        guard let streams = reply.array else { return [] }
        guard let first = streams.first?.array, first.count == 2 else { return [] }
        return try StreamEntry.list(from: first[1], command: "XREADGROUP")
    }

    /// `XACK key group id ...`; returns how many were acknowledged.
    /// https://redis.io/docs/latest/commands/xack/
    @discardableResult
    public func xack(key: String, group: String, ids: [String]) throws(RedisError) -> Int {
        guard !ids.isEmpty else { return 0 }
        var args: [RedisArgument] = ["XACK", RedisArgument(key), RedisArgument(group)]
        args.append(contentsOf: ids.map { RedisArgument($0) })
        return Int(try command(args).int ?? 0)
    }

    /// `XINFO GROUPS key`: one field map per group (`name`, `pending`, `lag`, `entries-read`, ...).
    /// https://redis.io/docs/latest/commands/xinfo-groups/
    public func xinfoGroups(key: String) throws(RedisError) -> [[String: RESPValue]] {
        do {
            return try command(["XINFO", "GROUPS", RedisArgument(key)]).array?.map(\.fieldMap) ?? []
        } catch where error.kind == .server && error.message.contains("no such key") {
            return []
        }
    }
}

/// One row of `XPENDING key group start end count [consumer]`.
public struct PendingEntry: Sendable, Equatable {
    public let id: String
    public let consumer: String
    public let idleMs: Int64
    public let deliveries: Int
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

extension RedisConnection {
    /// `XPENDING key group IDLE min start end count [consumer]`, the extended form.
    /// https://redis.io/docs/latest/commands/xpending/
    public func xpending(
        key: String, group: String, start: String = "-", end: String = "+", count: Int, consumer: String? = nil
    ) throws(RedisError) -> [PendingEntry] {
        var args: [RedisArgument] = ["XPENDING", RedisArgument(key), RedisArgument(group), RedisArgument(start), RedisArgument(end), RedisArgument(count)]
        if let consumer { args.append(RedisArgument(consumer)) }
        let rows = try command(args).array ?? []
        return rows.compactMap { row in
            guard let fields = row.array, fields.count >= 4, let id = fields[0].string, let consumer = fields[1].string,
                let idle = fields[2].int, let deliveries = fields[3].int
            else { return nil }
            return PendingEntry(id: id, consumer: consumer, idleMs: idle, deliveries: Int(deliveries))
        }
    }

    /// `XAUTOCLAIM key group consumer min-idle start COUNT n`: takes over entries other consumers
    /// left pending longer than `minIdleMs`. https://redis.io/docs/latest/commands/xautoclaim/
    public func xautoclaim(
        key: String, group: String, consumer: String, minIdleMs: Int, start: String, count: Int
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

    /// `XINFO CONSUMERS key group`: `name`, `pending`, `idle` per consumer.
    /// https://redis.io/docs/latest/commands/xinfo-consumers/
    public func xinfoConsumers(key: String, group: String) throws(RedisError) -> [[String: RESPValue]] {
        try command(["XINFO", "CONSUMERS", RedisArgument(key), RedisArgument(group)]).array?.map(\.fieldMap) ?? []
    }

    /// `XGROUP DELCONSUMER key group consumer`; returns the pending entries it had.
    /// https://redis.io/docs/latest/commands/xgroup-delconsumer/
    @discardableResult
    public func xgroupDelConsumer(key: String, group: String, consumer: String) throws(RedisError) -> Int {
        Int(try command(["XGROUP", "DELCONSUMER", RedisArgument(key), RedisArgument(group), RedisArgument(consumer)]).int ?? 0)
    }
}

extension RedisConnection {
    /// `XTRIM key MAXLEN|MINID [~] threshold`; returns how many entries were removed.
    /// https://redis.io/docs/latest/commands/xtrim/
    @discardableResult
    public func xtrim(key: String, strategy: String, threshold: String, approximate: Bool = true) throws(RedisError) -> Int {
        var args: [RedisArgument] = ["XTRIM", RedisArgument(key), RedisArgument(strategy)]
        if approximate { args.append("~") }
        args.append(RedisArgument(threshold))
        return Int(try command(args).int ?? 0)
    }

    /// `XDEL key id ...`; returns how many were deleted. https://redis.io/docs/latest/commands/xdel/
    @discardableResult
    public func xdel(key: String, ids: [String]) throws(RedisError) -> Int {
        guard !ids.isEmpty else { return 0 }
        return Int(try command(["XDEL", RedisArgument(key)] + ids.map { RedisArgument($0) }).int ?? 0)
    }
}
