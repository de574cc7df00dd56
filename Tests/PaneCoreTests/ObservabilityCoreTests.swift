import PaneCore
import Testing

/// Issue 11, item 2: the metric catalog's conventions, `/proc` and `INFO memory` parsing, and
/// the escaping of the status page.
@Suite struct ObservabilityCoreTests {
    @Test func everyMetricFollowsPrometheusNaming() {
        var seen: Set<String> = []
        for metric in MetricCatalog.all {
            #expect(seen.insert(metric.name).inserted, "\(metric.name) is listed twice")
            #expect(metric.name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" }, "\(metric.name)")
            #expect(metric.name.hasPrefix("pane_") || metric.name.hasPrefix("process_"), "\(metric.name)")
            #expect(!metric.help.isEmpty && metric.help.hasSuffix("."), "\(metric.name) needs a one-sentence help")
            switch metric.kind {
            case .counter: #expect(metric.name.hasSuffix("_total"), "a counter ends in _total: \(metric.name)")
            case .histogram: #expect(metric.name.hasSuffix("_seconds"), "a duration histogram ends in _seconds: \(metric.name)")
            case .gauge: #expect(!metric.name.hasSuffix("_total"), "a gauge does not end in _total: \(metric.name)")
            }
            if let buckets = metric.bucketsSeconds { #expect(buckets == buckets.sorted() && Set(buckets).count == buckets.count) }
        }
        #expect(MetricCatalog.info(named: "pane_spoke_replication_lag_seconds")?.kind == .histogram)
        #expect(MetricCatalog.info(named: "pane_spoke_replication_lag") == nil, "renamed with its unit")
        for name in MetricCatalog.renamed.values { #expect(MetricCatalog.info(named: name) != nil, "\(name)") }
    }

    @Test func procSelfStatParsesEvenWithSpacesAndParenthesesInTheName() throws {
        // Fields 14/15 utime/stime, 22 starttime, 23 vsize, 24 rss (proc(5)).
        let stat = "4242 (pane (x) y) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 7 0 1000 123456789 3000 18446744073709551615"
        let stats = try #require(ProcessStats.parse(stat: stat, clockTicks: 100, pageSize: 4096, bootTimeSeconds: 1_700_000_000))
        #expect(stats.cpuSeconds == 3.0)
        #expect(stats.residentBytes == 3000 * 4096)
        #expect(stats.virtualBytes == 123_456_789)
        #expect(stats.startTimeSeconds == 1_700_000_010)
        #expect(ProcessStats.parse(stat: "4242 (pane) S 1 2", clockTicks: 100, pageSize: 4096, bootTimeSeconds: 0) == nil)
        #expect(ProcessStats.parse(stat: "garbage", clockTicks: 100, pageSize: 4096, bootTimeSeconds: 0) == nil)
        #expect(ProcessStats.bootTime(procStat: "cpu  1 2 3\nintr 5\nbtime 1764547200\nprocesses 9\n") == 1_764_547_200)
        #expect(ProcessStats.bootTime(procStat: "cpu 1\n") == nil)
        let limits = """
            Limit                     Soft Limit           Hard Limit           Units
            Max open files            1024                 524288               files

            """
        #expect(ProcessStats.maxOpenFiles(limits: limits) == 1024)
    }

    @Test func infoMemoryGivesUsedAndMax() throws {
        let info = "# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\nmaxmemory:4194304\r\nmaxmemory_policy:noeviction\r\n"
        let memory = try #require(RedisMemory(info: info))
        #expect(memory == RedisMemory(usedBytes: 1_048_576, maxBytes: 4_194_304))
        #expect(memory.fractionUsed == 0.25)
        #expect(RedisMemory(info: "used_memory:10\r\nmaxmemory:0\r\n")?.fractionUsed == nil, "0 is no limit")
        #expect(RedisMemory(info: "# Memory\r\n") == nil)
    }

    @Test func htmlEscapesWhatComesFromOutside() {
        #expect(HTMLText.escape(#"<script>alert("x")</script> & 'y'"#) == "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;")
        #expect(HTMLText.escape("tenant/acme é ✓") == "tenant/acme é ✓")
        #expect(HTMLText.escape("a\u{0}b\u{1B}c\td") == "a\u{FFFD}b\u{FFFD}c\td")
    }
}
