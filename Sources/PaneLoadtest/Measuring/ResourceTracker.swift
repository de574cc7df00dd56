/// CPU and memory of named processes across restarts (a restarted process has a new pid).
struct ResourceTracker {
    private var lastCPU: [Int32: Double] = [:]
    private(set) var cpuSeconds: [String: Double] = [:]
    private(set) var maxRssKB: [String: Int] = [:]

    /// Samples `pid` under `name`; returns its RSS in kB and CPU seconds used since the last sample.
    mutating func sample(name: String, pid: Int32) -> (rssKB: Int, cpu: Double)? {
        guard let rss = ProcStat.rssKB(pid: pid), let cpu = ProcStat.cpuSeconds(pid: pid) else { return nil }
        let delta = cpu - (lastCPU[pid] ?? 0)
        lastCPU[pid] = cpu
        cpuSeconds[name, default: 0] += delta
        maxRssKB[name] = max(maxRssKB[name] ?? 0, rss)
        return (rss, delta)
    }
}
