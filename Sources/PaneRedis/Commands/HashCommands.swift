/// Hash commands (https://redis.io/docs/latest/commands/?group=hash), typed: each takes a
/// ``HashKey``.
extension RedisConnection {
    /// `HSET key field value`; returns whether the field is new.
    /// https://redis.io/docs/latest/commands/hset/
    @discardableResult
    public func hset(key: HashKey, field: String, value: String) throws(RedisError) -> Bool {
        try command(["HSET", RedisArgument(key), RedisArgument(field), RedisArgument(value)]).int == 1
    }

    /// `HSET key field value`, a binary value; returns whether the field is new.
    /// https://redis.io/docs/latest/commands/hset/
    @discardableResult
    public func hset(key: HashKey, field: String, value: [UInt8]) throws(RedisError) -> Bool {
        try command(["HSET", RedisArgument(key), RedisArgument(field), RedisArgument(value)]).int == 1
    }

    /// `HGET key field` as text; nil when the field or the hash does not exist.
    /// https://redis.io/docs/latest/commands/hget/
    public func hget(key: HashKey, field: String) throws(RedisError) -> String? {
        try command(["HGET", RedisArgument(key), RedisArgument(field)]).string
    }

    /// `HMGET key field ...` as text, one value per field (nil when it does not exist).
    /// https://redis.io/docs/latest/commands/hmget/
    public func hmget(key: HashKey, fields: [String]) throws(RedisError) -> [String?] {
        guard !fields.isEmpty else { return [] }
        return (try command(["HMGET", RedisArgument(key)] + fields.map { RedisArgument($0) }).array ?? []).map(\.string)
    }

    /// `HGETALL key` as a dictionary; empty when the hash does not exist.
    /// https://redis.io/docs/latest/commands/hgetall/
    public func hgetall(key: HashKey) throws(RedisError) -> [String: RESPValue] {
        try command(["HGETALL", RedisArgument(key)]).fieldMap
    }

    /// `HDEL key field ...`; returns how many fields were removed.
    /// https://redis.io/docs/latest/commands/hdel/
    @discardableResult
    public func hdel(key: HashKey, fields: [String]) throws(RedisError) -> Int {
        guard !fields.isEmpty else { return 0 }
        return Int(try command(["HDEL", RedisArgument(key)] + fields.map { RedisArgument($0) }).int ?? 0)
    }
}

/// Hash commands, pipelined: each appends one command to the buffer.
extension RedisCommandBuffer {
    /// `HSET key field value`. https://redis.io/docs/latest/commands/hset/
    public mutating func hset(key: HashKey, field: String, value: String) {
        command("HSET", arguments: 3)
        argument(key)
        argument(field)
        argument(value)
    }

    /// `HSET key field value`, an integer value. https://redis.io/docs/latest/commands/hset/
    public mutating func hset(key: HashKey, field: String, value: Int) {
        command("HSET", arguments: 3)
        argument(key)
        argument(field)
        argument(value)
    }

    /// `HMGET key field ...`; its reply is an array with one value (or nil) per field.
    /// https://redis.io/docs/latest/commands/hmget/
    public mutating func hmget(key: HashKey, fields: [String]) {
        command("HMGET", arguments: 1 + fields.count)
        argument(key)
        for field in fields { argument(field) }
    }

    /// `HGET key field`. https://redis.io/docs/latest/commands/hget/
    public mutating func hget(key: HashKey, field: String) {
        command("HGET", arguments: 2)
        argument(key)
        argument(field)
    }
}
