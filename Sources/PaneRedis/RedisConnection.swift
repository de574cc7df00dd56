import CPaneHiredis
import Logging

/// One blocking hiredis connection.
///
/// Every call blocks the calling thread, so a connection belongs to a thread of its own
/// (see ``BlockingThread``), never to Swift's cooperative pool or a NIO event loop.
/// It is not thread-safe: one owner at a time. After an error whose
/// ``RedisError/breaksConnection`` is true, the connection is closed and must be replaced.
public final class RedisConnection: @unchecked Sendable {
    public let endpoint: RedisEndpoint
    private var context: UnsafeMutablePointer<redisContext>?

    /// Connects within `connectTimeoutMs`; later reads and writes time out after `readTimeoutMs`.
    /// Keep any `BLOCK` argument below `readTimeoutMs`.
    public init(endpoint: RedisEndpoint, connectTimeoutMs: Int = 2_000, readTimeoutMs: Int = 5_000) throws(RedisError) {
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
        if endpoint.database != 0 {
            _ = try command(["SELECT", RedisArgument(endpoint.database)])
        }
    }

    deinit { close() }

    /// Closes the socket; later calls throw.
    public func close() {
        if let context { redisFree(context) }
        context = nil
    }

    public var isOpen: Bool { context != nil }

    /// Sends one command and waits for its reply. An error reply throws ``RedisError/Kind/server``.
    @discardableResult
    public func command(_ args: [RedisArgument]) throws(RedisError) -> RESPValue {
        let reply = try pipeline([args])[0]
        if case .error(let message) = reply {
            throw RedisError(.server, message, command: args.first?.text)
        }
        return reply
    }

    /// Sends every command before reading any reply, then returns the replies in order.
    /// Error replies stay in the result as ``RESPValue/error(_:)``; I/O errors throw.
    public func pipeline(_ commands: [[RedisArgument]]) throws(RedisError) -> [RESPValue] {
        guard let ctx = context else { throw RedisError(.io, "connection to \(endpoint) is closed") }
        for args in commands {
            let status = Self.withArgv(args) { argc, argv, lens in cpane_append_argv(ctx, argc, argv, lens) }
            if status != REDIS_OK { throw failure(ctx, command: args.first?.text) }
        }
        var replies: [RESPValue] = []
        replies.reserveCapacity(commands.count)
        for args in commands {
            var raw: UnsafeMutablePointer<redisReply>?
            if cpane_get_reply(ctx, &raw) != REDIS_OK || raw == nil {
                throw failure(ctx, command: args.first?.text)
            }
            guard let reply = raw else { throw failure(ctx, command: args.first?.text) }
            replies.append(Self.convert(reply))
            freeReplyObject(reply)
        }
        return replies
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
        var flat: [UInt8] = []
        flat.reserveCapacity(args.reduce(1) { $0 + $1.bytes.count })
        var offsets: [Int] = []
        var lengths: [Int] = []
        offsets.reserveCapacity(args.count)
        lengths.reserveCapacity(args.count)
        for arg in args {
            offsets.append(flat.count)
            lengths.append(arg.bytes.count)
            flat.append(contentsOf: arg.bytes)
        }
        flat.append(0)  // never empty, so baseAddress is never nil
        return flat.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!)
            var pointers: [UnsafePointer<CChar>?] = offsets.map {
                (base + $0).assumingMemoryBound(to: CChar.self)
            }
            return pointers.withUnsafeMutableBufferPointer { argv in
                lengths.withUnsafeBufferPointer { lens in
                    body(Int32(args.count), argv.baseAddress!, lens.baseAddress!)
                }
            }
        }
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
