import CPaneHiredis
import Glibc
import Logging

/// One blocking hiredis connection.
///
/// Every call blocks the calling thread, so a connection belongs to a thread of its own
/// (see ``BlockingThread``), never to Swift's cooperative pool or a NIO event loop.
/// It is not thread-safe, and so not `Sendable`: create it on the thread that uses it, or hand
/// it over whole (`sending`) and keep no reference. After an error whose
/// ``RedisError/breaksConnection`` is true, the connection is closed and must be replaced.
///
/// Talk to it through the typed command families in `Commands/` (``xadd(key:id:maxLength:fields:)``,
/// ``hgetall(key:)``, ``transaction(_:)``, …). ``command(_:)`` and ``pipeline(_:)-([[RedisArgument]])``
/// take raw arguments: the escape hatch for tests that forge entries and for admin repair,
/// not for commands the families cover.
public final class RedisConnection {
    public let endpoint: RedisEndpoint
    private var context: UnsafeMutablePointer<redisContext>?
    /// The first command of the last buffer sent, named by errors of replies read later.
    private var lastSent: String?

    /// Connects within `connectTimeoutMs`; later reads and writes time out after `readTimeoutMs`.
    /// Keep any `BLOCK` argument below `readTimeoutMs`.
    public init(endpoint: RedisEndpoint, connectTimeoutMs: Int = 2_000, readTimeoutMs: Int = 5_000) throws(RedisError) {
        Self.ignoreBrokenPipes
        self.endpoint = endpoint
        guard let ctx = cpane_connect_ms(endpoint.host, Int32(endpoint.port), connectTimeoutMs) else {
            throw RedisError(.connect, "cannot allocate a hiredis context for \(endpoint)")
        }
        if ctx.pointee.err != 0 {
            let message = Self.errorString(ctx)
            redisFree(ctx)
            throw RedisError(.connect, "cannot connect to \(endpoint): \(message)")
        }
        if cpane_set_timeout_ms(ctx, readTimeoutMs) != REDIS_OK {
            let message = Self.errorString(ctx)
            redisFree(ctx)
            throw RedisError(.connect, "cannot set the read timeout on \(endpoint): \(message)")
        }
        self.context = ctx
        if let password = endpoint.password {
            // Before any other command. A refusal names the user and the server, never the password.
            do {
                try auth(user: endpoint.user, password: password)
            } catch where error.kind == .server {
                close()
                throw RedisError(
                    .auth, "Redis at \(endpoint.host):\(endpoint.port) refused user '\(endpoint.userName)': \(error.message)", command: "AUTH")
            }
        }
        if endpoint.database != 0 {
            try select(endpoint.database)
        }
    }

    deinit { close() }

    /// hiredis writes with `write(2)`: a write to a server that just died raises SIGPIPE, whose
    /// default action ends the process (a hub whose Redis master was killed died of it). Linux
    /// has no per-socket opt-out, so the process ignores SIGPIPE, as hiredis's documentation
    /// advises; the write then fails with EPIPE, a broken connection like any other. (NIO's
    /// sockets already send with MSG_NOSIGNAL.)
    private static let ignoreBrokenPipes: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    /// Closes the socket; later calls throw.
    public func close() {
        if let context { redisFree(context) }
        context = nil
    }

    public var isOpen: Bool { context != nil }

    /// Sends one command (`redisCommandArgv`) and waits for its reply. An error reply throws
    /// ``RedisError/Kind/server``.
    ///
    /// The escape hatch: for commands no family in `Commands/` covers, for tests that write
    /// foreign or forged entries, and for admin repair. Production code calls the typed methods.
    @discardableResult
    public func command(_ args: [RedisArgument]) throws(RedisError) -> RESPValue {
        guard let ctx = context else { throw RedisError(.io, "connection to \(endpoint) is closed") }
        let raw = Self.withArgv(args) { argc, argv, lens in cpane_command_argv(ctx, argc, argv, lens) }
        guard let reply = raw else { throw failure(ctx, command: args.first?.text) }
        let value = Self.convert(reply)
        freeReplyObject(reply)
        if case .error(let message) = value {
            throw RedisError(.server, message, command: args.first?.text)
        }
        return value
    }

    /// Sends one command whose reply is a streams reply (`XREADGROUP`, `XREAD`) and converts it
    /// straight into entries, without building ``RESPValue``s on the way: the worker's hot path.
    func streamsCommand(_ args: [RedisArgument]) throws(RedisError) -> [StreamEntry] {
        guard let ctx = context else { throw RedisError(.io, "connection to \(endpoint) is closed") }
        let raw = Self.withArgv(args) { argc, argv, lens in cpane_command_argv(ctx, argc, argv, lens) }
        guard let reply = raw else { throw failure(ctx, command: args.first?.text) }
        defer { freeReplyObject(reply) }
        return try Self.entries(fromStreamsReply: reply, command: args.first?.text ?? "XREADGROUP")
    }

    /// Reads the reply of a streams command sent ahead with ``send(_:)`` (a pipelined
    /// ``RedisCommandBuffer/xreadgroup(key:group:consumer:count:blockMs:id:)``), straight into
    /// entries. Errors name `command`, by default the first command of the last buffer sent.
    public func receiveEntries(command: String? = nil) throws(RedisError) -> [StreamEntry] {
        let command = command ?? lastSent ?? "XREADGROUP"
        guard let ctx = context else { throw RedisError(.io, "connection to \(endpoint) is closed") }
        var raw: UnsafeMutablePointer<redisReply>?
        guard cpane_get_reply(ctx, &raw) == REDIS_OK, let reply = raw else { throw failure(ctx, command: command) }
        defer { freeReplyObject(reply) }
        return try Self.entries(fromStreamsReply: reply, command: command)
    }

    /// `[[key, [[id, [f, v, ...]], ...]]]` (the first stream only), or nil when nothing came.
    static func entries(fromStreamsReply reply: UnsafeMutablePointer<redisReply>, command: String) throws(RedisError) -> [StreamEntry] {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_ERROR:
            let message = r.str.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: r.len), as: UTF8.self) } ?? ""
            throw RedisError(.server, message, command: command)
        case REDIS_REPLY_ARRAY:
            guard r.elements >= 1, let stream = r.element[0], stream.pointee.type == REDIS_REPLY_ARRAY, stream.pointee.elements == 2,
                let list = stream.pointee.element[1]
            else { return [] }
            return try entries(fromList: list, command: command)
        default:
            return []
        }
    }

    /// `[[id, [f, v, ...] or nil], ...]`.
    static func entries(fromList list: UnsafeMutablePointer<redisReply>, command: String) throws(RedisError) -> [StreamEntry] {
        let l = list.pointee
        guard l.type == REDIS_REPLY_ARRAY else {
            if l.type == REDIS_REPLY_NIL { return [] }
            throw RedisError(.protocolViolation, "expected an array of entries", command: command)
        }
        func text(_ item: UnsafeMutablePointer<redisReply>?) -> String? {
            guard let item, let str = item.pointee.str else { return nil }
            return String(decoding: UnsafeRawBufferPointer(start: str, count: item.pointee.len), as: UTF8.self)
        }
        func bytes(_ item: UnsafeMutablePointer<redisReply>?) -> [UInt8] {
            guard let item, let str = item.pointee.str else { return [] }
            return Array(UnsafeRawBufferPointer(start: str, count: item.pointee.len))
        }
        var entries: [StreamEntry] = []
        entries.reserveCapacity(l.elements)
        for i in 0..<l.elements {
            guard let pair = l.element[i], pair.pointee.type == REDIS_REPLY_ARRAY, pair.pointee.elements == 2,
                let id = text(pair.pointee.element[0])
            else {
                throw RedisError(.protocolViolation, "expected [id, fields]", command: command)
            }
            guard let flat = pair.pointee.element[1], flat.pointee.type == REDIS_REPLY_ARRAY else {
                entries.append(StreamEntry(id: id, fields: nil))
                continue
            }
            let count = flat.pointee.elements
            var fields: [(String, [UInt8])] = []
            fields.reserveCapacity(count / 2)
            var j = 0
            while j + 1 < count {
                fields.append((text(flat.pointee.element[j]) ?? "", bytes(flat.pointee.element[j + 1])))
                j += 2
            }
            entries.append(StreamEntry(id: id, fields: fields))
        }
        return entries
    }

    /// Sends every command before reading any reply, then returns the replies in order.
    /// Error replies stay in the result as ``RESPValue/error(_:)``; I/O errors throw.
    /// Raw arguments, like ``command(_:)``: prefer a ``RedisCommandBuffer`` filled by the families.
    public func pipeline(_ commands: [[RedisArgument]]) throws(RedisError) -> [RESPValue] {
        var buffer = RedisCommandBuffer()
        for args in commands { buffer.append(args) }
        return try pipeline(buffer)
    }

    /// Writes a whole ``RedisCommandBuffer`` at once, then reads its replies in order.
    /// Error replies stay in the result as ``RESPValue/error(_:)``; I/O errors throw.
    public func pipeline(_ buffer: RedisCommandBuffer) throws(RedisError) -> [RESPValue] {
        try send(buffer)
        return try receive(buffer.count, command: buffer.firstCommand)
    }

    /// Writes the commands and returns without reading replies, so the caller can prepare the
    /// next batch while Redis works. Read the replies later with ``receive(_:command:)``.
    public func send(_ buffer: RedisCommandBuffer) throws(RedisError) {
        guard let ctx = context else { throw RedisError(.io, "connection to \(endpoint) is closed") }
        guard buffer.count > 0 else { return }
        let status = buffer.bytes.withUnsafeBufferPointer { raw in
            raw.withMemoryRebound(to: CChar.self) { chars in
                redisAppendFormattedCommand(ctx, chars.baseAddress, chars.count)
            }
        }
        if status != REDIS_OK { throw failure(ctx, command: buffer.firstCommand) }
        lastSent = buffer.firstCommand
        var done: Int32 = 0
        while done == 0 {
            if redisBufferWrite(ctx, &done) != REDIS_OK { throw failure(ctx, command: buffer.firstCommand) }
        }
    }

    /// Reads `count` replies of commands sent earlier, in order. Error replies stay in the
    /// result; errors name `command`, by default the first command of the last buffer sent.
    public func receive(_ count: Int, command: String? = nil) throws(RedisError) -> [RESPValue] {
        let command = command ?? lastSent
        guard let ctx = context else { throw RedisError(.io, "connection to \(endpoint) is closed") }
        var replies: [RESPValue] = []
        replies.reserveCapacity(count)
        for _ in 0..<count {
            var raw: UnsafeMutablePointer<redisReply>?
            guard cpane_get_reply(ctx, &raw) == REDIS_OK, let reply = raw else {
                throw failure(ctx, command: command)
            }
            replies.append(Self.convert(reply))
            freeReplyObject(reply)
        }
        return replies
    }

    /// Reads the reply of one command sent earlier and hands a bulk string's bytes to `body` in
    /// hiredis's own reply buffer, not copied: a snapshot chunk of about 600 KB is decoded where
    /// it arrived instead of first being copied into a fresh array. The bytes are valid during
    /// the call only. Any other reply (nil, an error such as `WRONGTYPE`) comes as `nil`, as
    /// ``RESPValue/bytes`` has it, and never throws: the replies of a pipeline stay in step.
    public func receiveBulkString<T>(command: String? = nil, _ body: (UnsafeRawBufferPointer?) -> T) throws(RedisError) -> T {
        let command = command ?? lastSent
        guard let ctx = context else { throw RedisError(.io, "connection to \(endpoint) is closed") }
        var raw: UnsafeMutablePointer<redisReply>?
        guard cpane_get_reply(ctx, &raw) == REDIS_OK, let reply = raw else { throw failure(ctx, command: command) }
        defer { freeReplyObject(reply) }
        let r = reply.pointee
        guard r.type == REDIS_REPLY_STRING else { return body(nil) }
        return body(UnsafeRawBufferPointer(start: r.str, count: r.str == nil ? 0 : r.len))
    }

    /// Keeps hiredis's read buffer between replies instead of freeing it once it is empty and
    /// larger than 16 KB (`maxbuf`), or goes back to that default: a reader of many large
    /// replies in a row (a snapshot's chunks) then grows it once, not once per reply.
    public func keepReadBuffer(_ keep: Bool) {
        guard let reader = context?.pointee.reader else { return }
        reader.pointee.maxbuf = keep ? 0 : 16 * 1024
    }

    /// Reads `count` replies of commands sent earlier and throws the first error reply among
    /// them as ``RedisError/Kind/server`` (after reading them all, so the connection stays usable).
    public func confirm(_ count: Int) throws(RedisError) {
        let replies = try receive(count)
        if let message = replies.lazy.compactMap({ reply -> String? in
            if case .error(let message) = reply { return message }
            return nil
        }).first {
            throw RedisError(.server, message, command: lastSent)
        }
    }

    private func failure(_ ctx: UnsafeMutablePointer<redisContext>, command: String?) -> RedisError {
        let message = Self.errorString(ctx)
        let lowered = message.lowercased()
        let kind: RedisError.Kind =
            lowered.contains("temporarily unavailable") || lowered.contains("timed out") ? .timeout : .io
        close()
        return RedisError(kind, message.isEmpty ? "connection to \(endpoint) failed" : message, command: command)
    }

    private static func errorString(_ ctx: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: ctx.pointee.errstr) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// Lays every argument out in one buffer and hands hiredis pointers into it.
    private static func withArgv<R>(
        _ args: [RedisArgument],
        _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R
    ) -> R {
        let total = args.reduce(1) { $0 + $1.bytes.count }
        let flat = UnsafeMutablePointer<CChar>.allocate(capacity: total)
        let argv = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: max(1, args.count))
        let lens = UnsafeMutablePointer<Int>.allocate(capacity: max(1, args.count))
        defer {
            flat.deallocate()
            argv.deallocate()
            lens.deallocate()
        }
        var offset = 0
        for (i, arg) in args.enumerated() {
            let target = UnsafeMutableBufferPointer(start: flat + offset, count: arg.bytes.count)
            _ = target.initialize(from: arg.bytes.lazy.map { CChar(bitPattern: $0) })
            argv[i] = UnsafePointer(flat + offset)
            lens[i] = arg.bytes.count
            offset += arg.bytes.count
        }
        return body(Int32(args.count), argv, lens)
    }

    private static func convert(_ reply: UnsafeMutablePointer<redisReply>) -> RESPValue {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STRING:
            guard let str = r.str else { return .bulkString([]) }
            return .bulkString(Array(UnsafeRawBufferPointer(start: str, count: r.len)))
        case REDIS_REPLY_STATUS:
            guard let str = r.str else { return .simpleString("") }
            return .simpleString(String(decoding: UnsafeRawBufferPointer(start: str, count: r.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            guard let str = r.str else { return .error("") }
            return .error(String(decoding: UnsafeRawBufferPointer(start: str, count: r.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(r.integer))
        case REDIS_REPLY_ARRAY:
            var items: [RESPValue] = []
            items.reserveCapacity(r.elements)
            for i in 0..<r.elements {
                if let element = r.element[i] { items.append(convert(element)) } else { items.append(.null) }
            }
            return .array(items)
        default:
            return .null
        }
    }
}
