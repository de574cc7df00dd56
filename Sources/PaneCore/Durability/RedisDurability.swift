/// What a Redis server's settings mean for Pane's data (issue 10, item 5). A stream entry that
/// Redis evicts under memory pressure is an update a replica never sees until a resync: only
/// `maxmemory-policy noeviction` keeps them (writes then fail, and the hub retries them).
public struct RedisDurability: Sendable, Equatable, Codable {
    public let policy: String
    /// `maxmemory` in bytes; 0 means no limit.
    public let maxMemoryBytes: Int
    /// Whether the append-only file is on (`appendonly yes`).
    public let appendOnly: Bool

    public init(policy: String, maxMemoryBytes: Int, appendOnly: Bool) {
        self.policy = policy
        self.maxMemoryBytes = maxMemoryBytes
        self.appendOnly = appendOnly
    }

    /// From `CONFIG GET maxmemory-policy`, `maxmemory` and `appendonly`.
    public init(config: [String: String]) {
        self.init(
            policy: config["maxmemory-policy"] ?? "unknown", maxMemoryBytes: config["maxmemory"].flatMap { Int($0) } ?? 0,
            appendOnly: config["appendonly"] == "yes")
    }

    /// From the `INFO memory` and `INFO persistence` report (`maxmemory_policy:…`, `maxmemory:…`,
    /// `aof_enabled:0|1` lines): what a user allowed only `INFO`, not `CONFIG`, can read
    /// (ops/redis/pane.acl).
    public init(info: String) {
        var fields: [Substring: Substring] = [:]
        for line in info.split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon]] = line[line.index(after: colon)...]
        }
        self.init(
            policy: fields["maxmemory_policy"].map(String.init) ?? "unknown", maxMemoryBytes: fields["maxmemory"].flatMap { Int($0) } ?? 0,
            appendOnly: fields["aof_enabled"] == "1")
    }

    /// Whether Redis may evict Pane's keys.
    public var evicts: Bool { policy != "noeviction" }

    /// The problem, in words an operator can act on; nil when there is none.
    public var problem: String? {
        guard evicts else { return nil }
        return "maxmemory-policy is \(policy): Redis may evict region streams and lose updates; set it to noeviction "
            + "(CONFIG SET maxmemory-policy noeviction, and in redis.conf)"
    }
}
