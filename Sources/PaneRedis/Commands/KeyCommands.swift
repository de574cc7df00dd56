/// Generic key commands and expiry (https://redis.io/docs/latest/commands/?group=generic): they
/// work on a key of any type, so they take any ``RedisKeyName``.
extension RedisConnection {
    /// `DEL key ...`; returns how many keys existed. https://redis.io/docs/latest/commands/del/
    @discardableResult
    public func del(_ keys: [any RedisKeyName]) throws(RedisError) -> Int {
        guard !keys.isEmpty else { return 0 }
        return Int(try command(["DEL"] + keys.map { RedisArgument($0.rawValue) }).int ?? 0)
    }

    /// `EXISTS key ...`; returns how many of the keys exist.
    /// https://redis.io/docs/latest/commands/exists/
    public func exists(_ keys: [any RedisKeyName]) throws(RedisError) -> Int {
        guard !keys.isEmpty else { return 0 }
        return Int(try command(["EXISTS"] + keys.map { RedisArgument($0.rawValue) }).int ?? 0)
    }

    /// `EXPIRE key seconds`; returns false when the key does not exist.
    /// https://redis.io/docs/latest/commands/expire/
    @discardableResult
    public func expire(key: some RedisKeyName, seconds: Int) throws(RedisError) -> Bool {
        try command(["EXPIRE", RedisArgument(key), RedisArgument(seconds)]).int == 1
    }

    /// `TTL key`: seconds left; `-1` without an expiry, `-2` when the key does not exist.
    /// https://redis.io/docs/latest/commands/ttl/
    public func ttl(key: some RedisKeyName) throws(RedisError) -> Int {
        Int(try command(["TTL", RedisArgument(key)]).int ?? -2)
    }

    /// `TYPE key`: `stream`, `hash`, `list`, `string`, ... or `none`.
    /// https://redis.io/docs/latest/commands/type/
    public func type(key: some RedisKeyName) throws(RedisError) -> String {
        try command(["TYPE", RedisArgument(key)]).string ?? "none"
    }

    /// `SCAN cursor [MATCH pattern] [COUNT n]`: one step; the scan is over when `next` is `0`.
    /// https://redis.io/docs/latest/commands/scan/
    public func scan(cursor: String = "0", match: KeyPattern? = nil, count: Int? = nil) throws(RedisError) -> (next: String, keys: [RedisKey]) {
        var args: [RedisArgument] = ["SCAN", RedisArgument(cursor)]
        if let match { args += ["MATCH", RedisArgument(match)] }
        if let count { args += ["COUNT", RedisArgument(count)] }
        let reply = try command(args)
        guard let parts = reply.array, parts.count == 2, let next = parts[0].string else {
            throw RedisError(.protocolViolation, "unexpected SCAN reply", command: "SCAN")
        }
        return (next, (parts[1].array ?? []).compactMap(\.string).map { RedisKey($0) })
    }

    /// `KEYS pattern`: every matching key at once. It blocks the server while it walks the whole
    /// keyspace: for tests and small databases; elsewhere use ``scanAll(match:count:)``.
    /// https://redis.io/docs/latest/commands/keys/
    public func keys(matching pattern: KeyPattern) throws(RedisError) -> [RedisKey] {
        (try command(["KEYS", RedisArgument(pattern)]).array ?? []).compactMap(\.string).map { RedisKey($0) }
    }

    /// Every key matching `pattern`, by SCAN steps of `count` (a key may come twice if it was
    /// added during the scan). https://redis.io/docs/latest/commands/scan/
    public func scanAll(match: KeyPattern, count: Int = 1_000) throws(RedisError) -> [RedisKey] {
        var cursor = "0"
        var keys: [RedisKey] = []
        repeat {
            let step = try scan(cursor: cursor, match: match, count: count)
            keys += step.keys
            cursor = step.next
        } while cursor != "0"
        return keys
    }
}

/// Key commands, pipelined: each appends one command to the buffer.
extension RedisCommandBuffer {
    /// `EXPIRE key seconds`. https://redis.io/docs/latest/commands/expire/
    public mutating func expire(key: some RedisKeyName, seconds: Int) {
        command("EXPIRE", arguments: 2)
        argument(key)
        argument(seconds)
    }
}
