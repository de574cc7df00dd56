import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Resident memory and CPU time of a process, from `/proc/PID/status` and `/proc/PID/stat`.
enum ProcStat {
    /// `VmRSS` in kB.
    static func rssKB(pid: Int32) -> Int? { statusKB(pid: pid, field: "VmRSS") }

    /// `VmHWM`, the peak resident memory, in kB.
    static func peakRSSKB(pid: Int32) -> Int? { statusKB(pid: pid, field: "VmHWM") }

    static func statusKB(pid: Int32, field: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        return kB(status: text, field: field)
    }

    /// `utime + stime` in seconds.
    static func cpuSeconds(pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return nil }
        guard let ticks = cpuTicks(stat: text) else { return nil }
        return Double(ticks) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// This process's CPU time (user + system, all threads) in seconds, from `getrusage`
    /// (microseconds, not `/proc`'s clock ticks).
    static func ownCPUSeconds() -> Double { usageSeconds(0) }

    /// The calling thread's CPU time (user + system) in seconds.
    static func threadCPUSeconds() -> Double { usageSeconds(1) }

    /// `getrusage`'s `who`: 0 is `RUSAGE_SELF`, 1 Linux's `RUSAGE_THREAD` (a macro Swift does not import).
    private static func usageSeconds(_ who: UInt32) -> Double {
        var usage = rusage()
        guard getrusage(__rusage_who_t(who), &usage) == 0 else { return 0 }
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Reads `VmRSS:   1234 kB` out of a status file. Pure.
    static func rssKB(status: String) -> Int? { kB(status: status, field: "VmRSS") }

    /// Reads `<field>:   1234 kB` out of a status file. Pure.
    static func kB(status: String, field: String) -> Int? {
        for line in status.split(separator: "\n") where line.hasPrefix("\(field):") {
            return line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) }
        }
        return nil
    }

    /// utime + stime (fields 14 and 15) of a stat line; the command name may hold spaces, so
    /// fields are counted after its closing parenthesis. Pure.
    static func cpuTicks(stat: String) -> Int? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let rest = stat[stat.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        // rest[0] is field 3 (state): utime is field 14 → rest[11], stime → rest[12].
        guard rest.count > 12, let utime = Int(rest[11]), let stime = Int(rest[12]) else { return nil }
        return utime + stime
    }
}
