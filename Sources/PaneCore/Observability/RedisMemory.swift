/// A Redis server's memory use and limit, from `INFO memory`: what the "Redis memory near its
/// limit" alert compares. `INFO` works where `CONFIG GET` may be refused (managed services).
public struct RedisMemory: Sendable, Equatable {
    /// `used_memory`: bytes Redis has allocated for its data.
    public let usedBytes: Int
    /// `maxmemory`: the limit in bytes; 0 means no limit.
    public let maxBytes: Int

    public init(usedBytes: Int, maxBytes: Int) {
        self.usedBytes = usedBytes
        self.maxBytes = maxBytes
    }

    /// Parses the `name:value` lines of `INFO memory`; nil without `used_memory`.
    public init?(info: String) {
        var values: [Substring: Int] = [:]
        for line in info.split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            values[line[..<colon]] = Int(line[line.index(after: colon)...])
        }
        guard let used = values["used_memory"] else { return nil }
        self.init(usedBytes: used, maxBytes: values["maxmemory"] ?? 0)
    }

    /// `usedBytes / maxBytes`, or nil without a limit.
    public var fractionUsed: Double? { maxBytes > 0 ? Double(usedBytes) / Double(maxBytes) : nil }
}
