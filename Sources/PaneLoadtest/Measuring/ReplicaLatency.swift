import Histogram

/// One replica's applied writes and latencies, fed from its workers' latency logs.
/// Each `seq` counts once, at its first apply: redeliveries after a crash are not new work. An
/// entry that carried N writes counts N times, each with the entry's latency.
struct ReplicaLatency {
    let label: String
    /// Latencies in microseconds.
    var histogram = LatencySummary.makeHistogram()
    private var seen: [Bool] = []
    var applied = 0
    var lastApplyUs: Int64 = 0
    var maxSeq: UInt64 = 0
    /// Set by a fault (``LatencyCollector/mark(committedAfterUs:labels:)``): watch for the first
    /// apply of an entry the hub committed after this wall-clock µs.
    var markUs: Int64?
    /// The wall-clock µs of that first apply, once seen.
    var firstApplyAfterMarkUs: Int64?

    init(label: String) { self.label = label }

    /// The wall-clock ms of the last apply.
    var lastApplyMs: Int64 { lastApplyUs / 1000 }

    /// Records one line (``LatencyLogParser/Line/count`` writes); returns the latency in µs when
    /// this is the seq's first apply.
    mutating func record(_ line: LatencyLogParser.Line) -> UInt64? {
        let index = Int(line.seq)
        if index >= seen.count { seen.append(contentsOf: repeatElement(false, count: max(index + 1 - seen.count, seen.count))) }
        guard !seen[index] else { return nil }
        seen[index] = true
        applied += line.count
        lastApplyUs = max(lastApplyUs, line.replicaUs)
        maxSeq = max(maxSeq, line.seq)
        if let markUs, firstApplyAfterMarkUs == nil, line.hubUs > markUs { firstApplyAfterMarkUs = line.replicaUs }
        let latency = UInt64(max(0, line.replicaUs - line.hubUs))
        _ = histogram.record(latency, count: UInt64(line.count))
        return latency
    }
}
