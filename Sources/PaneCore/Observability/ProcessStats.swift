/// The standard `process_*` figures of a Linux process, read from `/proc/self/stat` (and the
/// system's boot time, from `/proc/stat`). Parsing only: the caller reads the files.
public struct ProcessStats: Sendable, Equatable {
    /// User plus system CPU time, seconds.
    public let cpuSeconds: Double
    /// Resident set size, bytes.
    public let residentBytes: Double
    /// Virtual memory size, bytes.
    public let virtualBytes: Double
    /// When the process started, seconds since the Unix epoch.
    public let startTimeSeconds: Double

    public init(cpuSeconds: Double, residentBytes: Double, virtualBytes: Double, startTimeSeconds: Double) {
        self.cpuSeconds = cpuSeconds
        self.residentBytes = residentBytes
        self.virtualBytes = virtualBytes
        self.startTimeSeconds = startTimeSeconds
    }

    /// Parses `/proc/self/stat` (see proc(5)); nil when it does not have the fields expected.
    /// - Parameters:
    ///   - stat: the file's text: `pid (comm) state ppid …`; `comm` may hold spaces and `)`.
    ///   - clockTicks: `sysconf(_SC_CLK_TCK)`, the unit of the CPU and start times.
    ///   - pageSize: bytes per page, the unit of `rss`.
    ///   - bootTimeSeconds: `btime` from `/proc/stat`.
    public static func parse(stat: String, clockTicks: Int, pageSize: Int, bootTimeSeconds: Double) -> ProcessStats? {
        guard clockTicks > 0, let close = stat.lastIndex(of: ")") else { return nil }
        // Field 3 (state) is the first after the command name; field n is rest[n - 3].
        let rest = stat[stat.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        func field(_ n: Int) -> Double? { rest.count > n - 3 ? Double(rest[n - 3]) : nil }
        guard let utime = field(14), let stime = field(15), let start = field(22), let vsize = field(23), let rss = field(24) else {
            return nil
        }
        let ticks = Double(clockTicks)
        return ProcessStats(
            cpuSeconds: (utime + stime) / ticks, residentBytes: rss * Double(pageSize), virtualBytes: vsize,
            startTimeSeconds: bootTimeSeconds + start / ticks)
    }

    /// `btime` (the boot time, seconds since the epoch) from `/proc/stat`; nil without it.
    public static func bootTime(procStat: String) -> Double? {
        for line in procStat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingPrefixSpaces())
        }
        return nil
    }

    /// The soft limit on open files from `/proc/self/limits` (`Max open files  1024  4096  files`).
    public static func maxOpenFiles(limits: String) -> Double? {
        for line in limits.split(separator: "\n") where line.hasPrefix("Max open files") {
            let words = line.dropFirst("Max open files".count).split(separator: " ", omittingEmptySubsequences: true)
            return words.first.flatMap { Double($0) }
        }
        return nil
    }
}

extension Substring {
    fileprivate func trimmingPrefixSpaces() -> Substring { drop { $0 == " " } }
}
