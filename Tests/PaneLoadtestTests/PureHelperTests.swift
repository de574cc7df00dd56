import Testing

@testable import PaneLoadtest

@Suite struct PureHelperTests {
    @Test func latencyLogLinesParseAndPartialLinesWait() {
        let text = Array("1 100 103\n2 100 101\ngarbage\n3 1 2 3\n4 200 2".utf8)
        let (lines, consumed) = LatencyLogParser.parse(text[...])
        #expect(lines == [.init(seq: 1, hubMs: 100, replicaMs: 103), .init(seq: 2, hubMs: 100, replicaMs: 101)])
        #expect(consumed == text.count - "4 200 2".utf8.count)
    }

    @Test func replicaLatencyCountsEachSeqOnce() {
        var replica = ReplicaLatency(label: "r/a")
        #expect(replica.record(.init(seq: 5, hubMs: 10, replicaMs: 14)) == 4)
        #expect(replica.record(.init(seq: 5, hubMs: 10, replicaMs: 50)) == nil)
        #expect(replica.record(.init(seq: 1_000, hubMs: 10, replicaMs: 11)) == 1)
        #expect(replica.applied == 2)
        #expect(replica.maxSeq == 1_000)
        #expect(replica.lastApplyMs == 14)
    }

    @Test func openLoopPlan() throws {
        var scenario = Scenario(name: "p", regions: [], writeRate: .perSecond(100), totalWrites: 10)
        var plan = WritePlan(scenario: scenario)
        #expect(plan.dueSeconds(50) == 0.5)
        #expect(plan.includes(9, elapsed: 99))
        #expect(!plan.includes(10, elapsed: 0))
        scenario.totalWrites = nil
        scenario.durationSeconds = 2
        plan = WritePlan(scenario: scenario)
        #expect(plan.includes(199, elapsed: 0))
        #expect(!plan.includes(200, elapsed: 0))
        scenario.writeRate = .max
        plan = WritePlan(scenario: scenario)
        #expect(plan.dueSeconds(1_000_000) == 0)
        #expect(plan.includes(1_000_000, elapsed: 1.9))
        #expect(!plan.includes(0, elapsed: 2))
    }

    @Test func procFilesParse() {
        #expect(ProcStat.rssKB(status: "Name:\tx\nVmRSS:\t   12345 kB\nVmSwap: 0 kB\n") == 12345)
        let stat = "42 (pane spoke) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 5 0 100 1000 200"
        #expect(ProcStat.cpuTicks(stat: stat) == 300)
    }

    @Test func reportsRenderVerdictAndFaults() {
        let report = LoadReport.sample(verdict: "FAIL")
        #expect(report.markdown.contains("# sample: FAIL"))
        #expect(report.markdown.contains("r01/a 42: hub v2, replica missing"))
        let svg = report.svg
        #expect(svg.hasPrefix("<svg"))
        #expect(svg.contains(">killWorker</text>"))
        #expect(svg.contains("stroke-dasharray"))
        #expect(svg.hasSuffix("</svg>\n"))
    }
}

extension LoadReport {
    static func sample(verdict: String) -> LoadReport {
        let latency = LatencySummary(count: 10, p50: 1, p90: 2, p99: 3, p999: 4, max: 50)
        return LoadReport(
            scenario: "sample", date: "2026-01-01T00:00:00Z", command: "pane-loadtest run x", setup: ["regions": "1"], writes: 10,
            deletes: 1, writeErrors: 0, deletesOfUnknownIds: 0, writeSeconds: 3, writeRate: 3.3, published: 10, publishRate: 3.3,
            replicas: [
                .init(region: "r01", replica: "a", workers: 1, applied: 10, applyRate: 3.3, latencyMs: latency, finalLag: 0)
            ],
            latencyMs: latency, drainSeconds: 0.1, totalSeconds: 3.1, converged: verdict == "PASS", verdict: verdict,
            differenceCount: 1, differences: [Difference(replica: "r01/a", id: "42", hub: "v2", found: nil)], deadLetters: 0,
            poisonInjected: 0, poisonPending: 0, outageReadsAnswered: 0, outageReadsFailed: 0, expectResync: false,
            faults: [.init(kind: "killWorker", at: 1.2, seconds: 1.5, detail: "kill -9 spoke-r01-a-1", ok: true)],
            processes: [.init(name: "hub", maxRssKB: 1000, cpuSeconds: 1)], redisMaxMemoryBytes: 1_000_000, problems: [], warnings: [],
            timeline: (0..<4).map { TimelineBucket(second: $0, writes: 3, applied: 3, p50: 1, p99: 3, max: $0 == 2 ? 50 : 4) })
    }
}
