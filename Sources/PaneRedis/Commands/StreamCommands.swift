/// Stream commands (https://redis.io/docs/latest/commands/?group=stream), typed.
extension RedisConnection {
    /// The arguments of `XADD key [MAXLEN ~ n] id field value ...`, for pipelines.
    /// https://redis.io/docs/latest/commands/xadd/
    public static func xaddArguments(key: String, id: String, fields: [(String, [UInt8])]) -> [RedisArgument] {
        var args: [RedisArgument] = ["XADD", RedisArgument(key), RedisArgument(id)]
        args.reserveCapacity(3 + fields.count * 2)
        for (name, value) in fields {
            args.append(RedisArgument(name))
            args.append(RedisArgument(value))
        }
        return args
    }

    /// `XADD key id field value ...`; returns the new entry's id.
    /// https://redis.io/docs/latest/commands/xadd/
    @discardableResult
    public func xadd(key: String, id: String = "*", fields: [(String, [UInt8])]) throws(RedisError) -> String {
        let reply = try command(Self.xaddArguments(key: key, id: id, fields: fields))
        guard let id = reply.string else { throw RedisError(.protocolViolation, "XADD returned no id", command: "XADD") }
        return id
    }

    /// `XRANGE key start end [COUNT n]`.
    /// https://redis.io/docs/latest/commands/xrange/
    public func xrange(key: String, start: String = "-", end: String = "+", count: Int? = nil) throws(RedisError) -> [StreamEntry] {
        var args: [RedisArgument] = ["XRANGE", RedisArgument(key), RedisArgument(start), RedisArgument(end)]
        if let count { args += ["COUNT", RedisArgument(count)] }
        return try StreamEntry.list(from: command(args), command: "XRANGE")
    }

    /// `XLEN key`. https://redis.io/docs/latest/commands/xlen/
    public func xlen(key: String) throws(RedisError) -> Int {
        Int(try command(["XLEN", RedisArgument(key)]).int ?? 0)
    }

    /// `XINFO STREAM key` as a field map; `nil` when the stream does not exist.
    /// https://redis.io/docs/latest/commands/xinfo-stream/
    public func xinfoStream(key: String) throws(RedisError) -> [String: RESPValue]? {
        do {
            return try command(["XINFO", "STREAM", RedisArgument(key)]).fieldMap
        } catch where error.kind == .server && error.message.contains("no such key") {
            return nil
        }
    }
}

extension RedisConnection {
    /// `XREVRANGE key end start [COUNT n]`: newest first.
    /// https://redis.io/docs/latest/commands/xrevrange/
    public func xrevrange(key: String, end: String = "+", start: String = "-", count: Int? = nil) throws(RedisError) -> [StreamEntry] {
        var args: [RedisArgument] = ["XREVRANGE", RedisArgument(key), RedisArgument(end), RedisArgument(start)]
        if let count { args += ["COUNT", RedisArgument(count)] }
        return try StreamEntry.list(from: command(args), command: "XREVRANGE")
    }
}
