/// List commands (https://redis.io/docs/latest/commands/?group=list), typed: each takes a
/// ``ListKey``.
extension RedisConnection {
    /// `RPUSH key value ...`; returns the list's length after the push.
    /// https://redis.io/docs/latest/commands/rpush/
    @discardableResult
    public func rpush(key: ListKey, values: [[UInt8]]) throws(RedisError) -> Int {
        guard !values.isEmpty else { return try llen(key: key) }
        return Int(try command(["RPUSH", RedisArgument(key)] + values.map { RedisArgument($0) }).int ?? 0)
    }

    /// `LINDEX key index`; nil when the index is out of range or the list does not exist.
    /// https://redis.io/docs/latest/commands/lindex/
    public func lindex(key: ListKey, index: Int) throws(RedisError) -> [UInt8]? {
        try command(["LINDEX", RedisArgument(key), RedisArgument(index)]).bytes
    }

    /// `LRANGE key start stop` (inclusive; negative counts from the end, `-1` is the last).
    /// https://redis.io/docs/latest/commands/lrange/
    public func lrange(key: ListKey, start: Int = 0, stop: Int = -1) throws(RedisError) -> [[UInt8]] {
        (try command(["LRANGE", RedisArgument(key), RedisArgument(start), RedisArgument(stop)]).array ?? []).map { $0.bytes ?? [] }
    }

    /// `LLEN key`; 0 when the list does not exist. https://redis.io/docs/latest/commands/llen/
    public func llen(key: ListKey) throws(RedisError) -> Int {
        Int(try command(["LLEN", RedisArgument(key)]).int ?? 0)
    }
}

/// List commands, pipelined: each appends one command to the buffer.
extension RedisCommandBuffer {
    /// `RPUSH key value`. https://redis.io/docs/latest/commands/rpush/
    public mutating func rpush(key: ListKey, value: [UInt8]) {
        command("RPUSH", arguments: 2)
        argument(key)
        argument(value)
    }

    /// `LINDEX key index`; the reply is the element's bytes, or null.
    /// https://redis.io/docs/latest/commands/lindex/
    public mutating func lindex(key: ListKey, index: Int) {
        command("LINDEX", arguments: 2)
        argument(key)
        argument(index)
    }
}
