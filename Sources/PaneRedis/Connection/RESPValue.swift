/// One Redis reply, in the RESP2 kinds hiredis 0.14 knows.
public enum RESPValue: Sendable, Hashable {
    case simpleString(String)
    /// An error reply (`-ERR ...`), kept as a value inside pipelines; ``RedisConnection/command(_:)`` throws it.
    case error(String)
    case integer(Int64)
    case bulkString([UInt8])
    case array([RESPValue])
    /// The null bulk string or null array.
    case null

    /// The value as text, for bulk and simple strings and integers.
    public var string: String? {
        switch self {
        case .simpleString(let s): return s
        case .bulkString(let b): return String(decoding: b, as: UTF8.self)
        case .integer(let i): return String(i)
        default: return nil
        }
    }

    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let b): return b
        case .simpleString(let s): return Array(s.utf8)
        default: return nil
        }
    }

    public var int: Int64? {
        switch self {
        case .integer(let i): return i
        case .bulkString, .simpleString: return string.flatMap { Int64($0) }
        default: return nil
        }
    }

    public var array: [RESPValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var isNull: Bool { self == .null }

    public var isError: Bool {
        if case .error = self { return true }
        return false
    }

    /// Reads a flat `[name, value, name, value, ...]` reply (XINFO, HGETALL) as a dictionary.
    public var fieldMap: [String: RESPValue] {
        guard let items = array else { return [:] }
        var map: [String: RESPValue] = [:]
        var i = 0
        while i + 1 < items.count {
            if let key = items[i].string { map[key] = items[i + 1] }
            i += 2
        }
        return map
    }
}
