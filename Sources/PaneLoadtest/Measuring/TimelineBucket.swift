/// One second of a run: load, progress, latency and resources.
public struct TimelineBucket: Sendable, Equatable, Codable {
    /// Seconds since the first write (the bucket covers `[second, second + 1)`).
    public var second: Int
    /// Writes the hub accepted in this second.
    public var writes: Int
    /// Entries applied in this second, all replicas together (first delivery only).
    public var applied: Int
    /// Latency percentiles of the updates committed by replicas in this second, ms.
    public var p50: Double
    public var p99: Double
    public var max: Double
    /// The largest lag of any replica at the end of the second, in entries (hub seq - replica seq).
    public var lag: Int
    /// Redis `used_memory`, bytes.
    public var redisMemory: Int
    /// Resident memory of each process, kB, by process name.
    public var rssKB: [String: Int]
    /// CPU used in this second by each process, in percent of one core.
    public var cpuPercent: [String: Double]

    public init(
        second: Int, writes: Int = 0, applied: Int = 0, p50: Double = 0, p99: Double = 0, max: Double = 0, lag: Int = 0,
        redisMemory: Int = 0, rssKB: [String: Int] = [:], cpuPercent: [String: Double] = [:]
    ) {
        self.second = second
        self.writes = writes
        self.applied = applied
        self.p50 = p50
        self.p99 = p99
        self.max = max
        self.lag = lag
        self.redisMemory = redisMemory
        self.rssKB = rssKB
        self.cpuPercent = cpuPercent
    }
}
