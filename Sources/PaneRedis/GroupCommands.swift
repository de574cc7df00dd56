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
        var args: [RedisArgument] = ["XREADGROUP", "GROUP", RedisArgument(group), RedisArgument(consumer), "COUNT", RedisArgument(count)]
        if let blockMs { args += ["BLOCK", RedisArgument(blockMs)] }
        args += ["STREAMS", RedisArgument(key), RedisArgument(id)]
        let reply = try command(args)
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
