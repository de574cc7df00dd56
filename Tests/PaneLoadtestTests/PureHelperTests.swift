import Foundation
import Testing

@testable import PaneLoadtest

@Suite struct PureHelperTests {
    /// Issue 13, item 7: a write's body is built into the writer's buffer, byte for byte what
    /// the runner sent before (`{"w":k,"n":n,"pad":"x…y…"}`, `bodyBytes` long).
    @Test func writeBodiesKeepTheirBytesAndLength() {
        func before(k: Int, n: Int, bodyBytes: Int) -> [UInt8] {
            let padding = String(repeating: "x", count: max(0, bodyBytes - 40))
            var body = "{\"w\":\(k),\"n\":\(n),\"pad\":\"\(padding)\"}"
            if body.utf8.count < bodyBytes {
                body = "{\"w\":\(k),\"n\":\(n),\"pad\":\"\(padding + String(repeating: "y", count: bodyBytes - body.utf8.count))\"}"
            }
            return Array(body.utf8)
        }
        var buffer: [UInt8] = []
        for bodyBytes in [0, 10, 39, 40, 41, 64, 256, 4_096] {
            let bodies = WriteBody(bodyBytes: bodyBytes)
            for (k, n) in [(0, 0), (7, 31), (31, 299_999), (3, 1_234_567_890_123)] {
                bodies.write(k: k, n: n, into: &buffer)
                #expect(buffer == before(k: k, n: n, bodyBytes: bodyBytes), "bodyBytes \(bodyBytes) k \(k) n \(n)")
                #expect(bodies.bytes(k: k, n: n) == buffer)
            }
        }
        WriteBody(bodyBytes: 256).write(k: 1, n: 2, into: &buffer)
        #expect(buffer.count == 256 && String(decoding: buffer, as: UTF8.self).hasPrefix(#"{"w":1,"n":2,"pad":"xxx"#))
    }

    @Test func latencyLogLinesParseAndPartialLinesWait() {
        let text = Array("1 100 103\n2 100 101\ngarbage\n3 1 2 3\n4 200 2".utf8)
        let (lines, consumed) = LatencyLogParser.parse(text[...])
        #expect(lines == [.init(seq: 1, hubUs: 100_000, replicaUs: 103_000), .init(seq: 2, hubUs: 100_000, replicaUs: 101_000)])
        #expect(consumed == text.count - "4 200 2".utf8.count)
    }

    /// `seq hubUs replicaUs us` (issue 13) beside old `seq hubMs replicaMs` lines, and
    /// `seq hubUs replicaUs us N` for an entry of N writes; anything else around the unit word
    /// (a count of 0, a trailing space, a count without the unit) is garbage.
    @Test func latencyLogReadsMicrosecondAndMillisecondLines() {
        let text = Array(
            ("1 1700000000000123 1700000000000540 us\n2 1700000000000 1700000000001\n"
                + "3 1 2 u\n4 1 2 3 us\n5 1 us\n6 1 2 usx\n7 1 2 us 3\n8 1 2us\n9 1 2 su\n10 1 2 us\n"
                + "12 1 2 us 0\n13 1 2 us 4 \n14 1 2 us \n15 1 2 3 4\n16 1 2 us 5x\n11 5 9 us").utf8)
        let (lines, consumed) = LatencyLogParser.parse(text[...])
        #expect(
            lines == [
                .init(seq: 1, hubUs: 1_700_000_000_000_123, replicaUs: 1_700_000_000_000_540),
                .init(seq: 2, hubUs: 1_700_000_000_000_000, replicaUs: 1_700_000_000_001_000),
                .init(seq: 7, hubUs: 1, replicaUs: 2, count: 3),
                .init(seq: 10, hubUs: 1, replicaUs: 2),
            ])
        #expect(consumed == text.count - "11 5 9 us".utf8.count)
    }

    @Test func replicaLatencyCountsEachSeqOnce() {
        var replica = ReplicaLatency(label: "r/a")
        #expect(replica.record(.init(seq: 5, hubUs: 10_000, replicaUs: 14_417)) == 4_417)
        #expect(replica.record(.init(seq: 5, hubUs: 10_000, replicaUs: 50_000)) == nil)
        #expect(replica.record(.init(seq: 1_000, hubUs: 10_000, replicaUs: 10_300)) == 300)
        #expect(replica.applied == 2)
        #expect(replica.maxSeq == 1_000)
        // An entry of 4 writes counts 4 times, with its latency, and once only.
        #expect(replica.record(.init(seq: 7, hubUs: 10_000, replicaUs: 10_300, count: 4)) == 300)
        #expect(replica.record(.init(seq: 7, hubUs: 10_000, replicaUs: 90_000, count: 4)) == nil)
        #expect(replica.applied == 6)
        #expect(LatencySummary(replica.histogram).count == 6)
        #expect(LatencySummary(replica.histogram).p50 == 0.3)
        #expect(replica.lastApplyUs == 14_417)
        #expect(replica.lastApplyMs == 14)
        let summary = LatencySummary(replica.histogram)
        #expect(summary.count == 6)
        #expect(summary.max == 4.42)
    }

    @Test func latenciesAreMillisecondsWithTwoDecimals() throws {
        #expect(LatencySummary.milliseconds(micros: 417) == 0.42)
        #expect(LatencySummary.milliseconds(micros: 5) == 0.01)
        #expect(LatencySummary.milliseconds(micros: 4) == 0)
        #expect(LatencySummary.milliseconds(micros: 1_234_567) == 1234.57)
        #expect(LatencySummary.text(0.42) == "0.42")
        #expect(LatencySummary.text(0) == "0.00")
        #expect(LatencySummary.text(12) == "12.00")

        var histogram = LatencySummary.makeHistogram()
        for micros: UInt64 in 1...1_000 { histogram.record(micros * 2) }  // 2 µs … 2 ms
        let summary = LatencySummary(histogram)
        #expect(summary.count == 1_000)
        #expect(summary.p50 == 1.0)
        #expect(summary.p90 == 1.8)
        #expect(summary.p99 == 1.98)
        #expect(summary.p999 == 2.0)
        #expect(summary.max == 2.0)
    }

    @Test func reportsGiveLatencyWithTwoDecimals() throws {
        var report = LoadReport.sample(verdict: "PASS")
        report.latencyMs = LatencySummary(count: 10, p50: 0.42, p90: 0.9, p99: 1.27, p999: 3.5, max: 12)
        report.replicas[0].latencyMs = LatencySummary(count: 10, p50: 0.05, p90: 0.1, p99: 0.99, p999: 1, max: 2.5)
        #expect(report.markdown.contains("| latency p50 / p90 / p99 / p99.9 / max | 0.42 / 0.90 / 1.27 / 3.50 / 12.00 ms |"))
        #expect(report.markdown.contains("| p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |"))
        #expect(report.markdown.contains("| 0.05 | 0.10 | 0.99 | 1.00 | 2.50 | 0 |"))
        #expect(report.svg.contains("p50 0.42 ms, p99 1.27 ms, max 12.00 ms"))
        // The latency axis reaches below 1 ms when latencies do.
        #expect(report.svg.contains(">1</text>") && !report.svg.contains(">0.1</text>"))
        report.timeline = (0..<4).map { TimelineBucket(second: $0, writes: 3, applied: 3, p50: 0.05, p99: 0.4, max: 2) }
        #expect(report.svg.contains(">0.01</text>") && report.svg.contains(">0.1</text>") && report.svg.contains(">10</text>"))
        #expect(!report.svg.contains(">0.001</text>"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(report), as: UTF8.self)
        #expect(json.contains(#""latencyMs":{"count":10,"max":12,"p50":0.42,"p90":0.9,"p99":1.27,"p999":3.5}"#))
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
