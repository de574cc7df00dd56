/// Stream commands (https://redis.io/docs/latest/commands/?group=stream), typed: each takes a
/// ``StreamKey``. Consumer groups are in `GroupCommands.swift`; `XREADGROUP`, which reads a
/// stream, is here.
extension RedisConnection {
    /// `XADD key [MAXLEN ~ n] id field value ...`; returns the new entry's id.
    /// https://redis.io/docs/latest/commands/xadd/
    @discardableResult
    public func xadd(key: StreamKey, id: String = "*", maxLength: Int? = nil, fields: [(String, [UInt8])]) throws(RedisError) -> String {
        var buffer = RedisCommandBuffer()
        buffer.xadd(key: key, id: id, maxLength: maxLength, fields: fields)
        return try Self.xaddReply(pipeline(buffer)[0]).get()
    }

    /// The outcome of one pipelined XADD: the new id, or the server's refusal as a
    /// ``RedisError/Kind/server`` error (see ``RedisError/isIDNotAboveStreamTop``).
    /// https://redis.io/docs/latest/commands/xadd/
    public static func xaddReply(_ reply: RESPValue) -> Result<String, RedisError> {
        switch reply {
        case .error(let message): return .failure(RedisError(.server, message, command: "XADD"))
        default:
            guard let id = reply.string else { return .failure(RedisError(.protocolViolation, "XADD returned no id", command: "XADD")) }
            return .success(id)
        }
    }

    /// `XRANGE key start end [COUNT n]`.
    /// https://redis.io/docs/latest/commands/xrange/
    public func xrange(key: StreamKey, start: String = "-", end: String = "+", count: Int? = nil) throws(RedisError) -> [StreamEntry] {
        var args: [RedisArgument] = ["XRANGE", RedisArgument(key), RedisArgument(start), RedisArgument(end)]
        if let count { args += ["COUNT", RedisArgument(count)] }
        return try StreamEntry.list(from: command(args), command: "XRANGE")
    }

    /// `XREVRANGE key end start [COUNT n]`: newest first.
    /// https://redis.io/docs/latest/commands/xrevrange/
    public func xrevrange(key: StreamKey, end: String = "+", start: String = "-", count: Int? = nil) throws(RedisError) -> [StreamEntry] {
        var args: [RedisArgument] = ["XREVRANGE", RedisArgument(key), RedisArgument(end), RedisArgument(start)]
        if let count { args += ["COUNT", RedisArgument(count)] }
        return try StreamEntry.list(from: command(args), command: "XREVRANGE")
    }

    /// `XLEN key`. https://redis.io/docs/latest/commands/xlen/
    public func xlen(key: StreamKey) throws(RedisError) -> Int {
        Int(try command(["XLEN", RedisArgument(key)]).int ?? 0)
    }

    /// `XDEL key id ...`; returns how many were deleted. https://redis.io/docs/latest/commands/xdel/
    @discardableResult
    public func xdel(key: StreamKey, ids: [String]) throws(RedisError) -> Int {
        guard !ids.isEmpty else { return 0 }
        return Int(try command(["XDEL", RedisArgument(key)] + ids.map { RedisArgument($0) }).int ?? 0)
    }

    /// `XTRIM key MAXLEN|MINID [~] threshold`; returns how many entries were removed.
    /// `approximate` (`~`) lets Redis trim whole macro nodes only, which is cheaper.
    /// https://redis.io/docs/latest/commands/xtrim/
    @discardableResult
    public func xtrim(key: StreamKey, to trim: StreamTrim, approximate: Bool = true) throws(RedisError) -> Int {
        var args: [RedisArgument] = ["XTRIM", RedisArgument(key)]
        switch trim {
        case .maxLength: args.append("MAXLEN")
        case .minID: args.append("MINID")
        }
        if approximate { args.append("~") }
        switch trim {
        case .maxLength(let length): args.append(RedisArgument(length))
        case .minID(let id): args.append(RedisArgument(id))
        }
        return Int(try command(args).int ?? 0)
    }

    /// `XSETID key last-id`: sets the id the stream's next entry must exceed.
    /// https://redis.io/docs/latest/commands/xsetid/
    public func xsetid(key: StreamKey, lastID: String) throws(RedisError) {
        try command(["XSETID", RedisArgument(key), RedisArgument(lastID)])
    }

    /// `XINFO STREAM key` as a field map (`length`, `first-entry`, `last-generated-id`, ...);
    /// `nil` when the stream does not exist.
    /// https://redis.io/docs/latest/commands/xinfo-stream/
    public func xinfoStream(key: StreamKey) throws(RedisError) -> [String: RESPValue]? {
        do {
            return try command(["XINFO", "STREAM", RedisArgument(key)]).fieldMap
        } catch where error.kind == .server && error.message.contains("no such key") {
            return nil
        }
    }

    /// `XREADGROUP GROUP g c COUNT n [BLOCK ms] STREAMS key id`. Use id `>` for new entries and
    /// `0` for this consumer's own pending list. Returns `[]` when the block timed out. The
    /// reply goes straight into entries, without ``RESPValue``s: the worker's hot path.
    /// https://redis.io/docs/latest/commands/xreadgroup/
    public func xreadgroup(
        key: StreamKey, group: ConsumerGroup, consumer: ConsumerName, count: Int, blockMs: Int?, id: String = ">"
    ) throws(RedisError) -> [StreamEntry] {
        var args: [RedisArgument] = ["XREADGROUP", "GROUP", RedisArgument(group), RedisArgument(consumer), "COUNT", RedisArgument(count)]
        if let blockMs { args += ["BLOCK", RedisArgument(blockMs)] }
        args += ["STREAMS", RedisArgument(key), RedisArgument(id)]
        return try streamsCommand(args)
    }

    /// `XREADGROUP GROUP g c COUNT n [BLOCK ms] STREAMS key... id...` over several streams, with
    /// the same id for each; returns the entries per stream (streams with none are left out).
    /// https://redis.io/docs/latest/commands/xreadgroup/
    public func xreadgroup(
        keys: [StreamKey], group: ConsumerGroup, consumer: ConsumerName, count: Int, blockMs: Int?, id: String = ">"
    ) throws(RedisError) -> [StreamKey: [StreamEntry]] {
        guard !keys.isEmpty else { return [:] }
        var args: [RedisArgument] = ["XREADGROUP", "GROUP", RedisArgument(group), RedisArgument(consumer), "COUNT", RedisArgument(count)]
        if let blockMs { args += ["BLOCK", RedisArgument(blockMs)] }
        args.append("STREAMS")
        args += keys.map { RedisArgument($0) }
        args += keys.map { _ in RedisArgument(id) }
        let reply = try command(args)
        var result: [StreamKey: [StreamEntry]] = [:]
        for stream in reply.array ?? [] {
            guard let pair = stream.array, pair.count == 2, let key = pair[0].string else { continue }
            result[StreamKey(key)] = try StreamEntry.list(from: pair[1], command: "XREADGROUP")
        }
        return result
    }
}

/// How far ``RedisConnection/xtrim(key:to:approximate:)`` trims.
public enum StreamTrim: Sendable, Hashable {
    /// `MAXLEN n`: keep the newest `n` entries.
    case maxLength(Int)
    /// `MINID id`: drop the entries whose id is below `id`.
    case minID(String)
}

extension RedisError {
    /// Whether XADD refused an id not above the stream's top entry ("equal or smaller than the
    /// target stream top item"): the entry may be there already, or someone lifted the top.
    public var isIDNotAboveStreamTop: Bool {
        kind == .server && message.contains("equal or smaller than the target stream top item")
    }
}

/// Stream commands, pipelined: each appends one command to the buffer.
extension RedisCommandBuffer {
    /// `XADD key [MAXLEN ~ n] id field value ...`.
    /// https://redis.io/docs/latest/commands/xadd/
    public mutating func xadd(key: StreamKey, id: String = "*", maxLength: Int? = nil, fields: [(String, [UInt8])]) {
        command("XADD", arguments: 2 + (maxLength == nil ? 0 : 3) + fields.count * 2)
        argument(key)
        if let maxLength {
            argument("MAXLEN")
            argument("~")
            argument(maxLength)
        }
        argument(id)
        for (name, value) in fields {
            argument(name)
            argument(value)
        }
    }

    /// `XDEL key id ...`. https://redis.io/docs/latest/commands/xdel/
    public mutating func xdel(key: StreamKey, ids: [String]) {
        command("XDEL", arguments: 1 + ids.count)
        argument(key)
        for id in ids { argument(id) }
    }

    /// Starts `XADD key <seq><suffix>`, to be followed by exactly `fieldCount` name/value pairs
    /// appended with the `argument` methods: the publisher encodes each entry's fields straight
    /// into the buffer, without building arrays. https://redis.io/docs/latest/commands/xadd/
    public mutating func beginXadd(key: StreamKey, seq: Int, suffix: StaticString, fieldCount: Int) {
        command("XADD", arguments: 2 + fieldCount * 2)
        argument(key)
        argument(seq, suffix: suffix)
    }

    /// `XINFO STREAM key`; its reply is an error when the stream does not exist.
    /// https://redis.io/docs/latest/commands/xinfo-stream/
    public mutating func xinfoStream(key: StreamKey) {
        command("XINFO", arguments: 2)
        argument("STREAM")
        argument(key)
    }

    /// `XREADGROUP GROUP g c COUNT n [BLOCK ms] STREAMS key id`, sent ahead; read its reply
    /// with ``RedisConnection/receiveEntries(command:)``. https://redis.io/docs/latest/commands/xreadgroup/
    public mutating func xreadgroup(
        key: StreamKey, group: ConsumerGroup, consumer: ConsumerName, count: Int, blockMs: Int?, id: String = ">"
    ) {
        command("XREADGROUP", arguments: 8 + (blockMs == nil ? 0 : 2))
        argument("GROUP")
        argument(group.rawValue)
        argument(consumer.rawValue)
        argument("COUNT")
        argument(count)
        if let blockMs {
            argument("BLOCK")
            argument(blockMs)
        }
        argument("STREAMS")
        argument(key)
        argument(id)
    }
}
