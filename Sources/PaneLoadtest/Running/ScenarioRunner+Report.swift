import Foundation

extension ScenarioRunner {
    func buildReport(
        cluster: Cluster, collector: LatencyCollector, driver: WriteDriver, injector: FaultInjector, sampler: Sampler, start: Int64,
        writeSeconds: Double, writeEndMs: Int64, converged: Bool, pass: Bool, differences: [Difference], problems: [String], warnings: [String],
        finalLags: [String: Int], deadLetters: Int, poisonPending: Int
    ) -> LoadReport {
        let writes = driver.snapshot
        var replicas: [LoadReport.Replica] = []
        for file in cluster.replicaFiles {
            let figures = collector.replica(file.label)
            let applied = figures?.applied ?? 0
            let seconds = max(0.001, Double((figures?.lastApplyMs ?? start) - start) / 1000)
            replicas.append(
                LoadReport.Replica(
                    region: file.region, replica: file.replica, workers: scenario.workersPerReplica, applied: applied,
                    applyRate: Double(applied) / seconds,
                    latencyMs: figures.map { LatencySummary($0.histogram) } ?? LatencySummary(count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0),
                    finalLag: finalLags[file.label] ?? 0))
        }
        let lastApplyMs = collector.lastApplyMs
        // Published: every region's stream got one entry per write, or per batch (all writes
        // target every region).
        let published = (scenario.batchSize > 1 ? writes.batches : writes.accepted) * scenario.regions.count
        // The last publish is no later than the first apply of the last seq; the last apply bounds it.
        let publishSeconds = max(0.001, Double(max(lastApplyMs, writeEndMs) - start) / 1000)
        let lastSecond = max(Int(writeSeconds), Int(max(0, lastApplyMs - start) / 1000))
        var timeline: [TimelineBucket] = []
        for second in 0...lastSecond {
            let bucket = collector.bucket(second)
            let sample = sampler.sample(at: second)
            timeline.append(
                TimelineBucket(
                    second: second, writes: second < writes.perSecond.count ? writes.perSecond[second] : 0, applied: bucket.applied,
                    p50: bucket.p50, p99: bucket.p99, max: bucket.max, lag: sample?.lag ?? 0, redisMemory: sample?.redisMemory ?? 0,
                    rssKB: sample?.rssKB ?? [:], cpuPercent: sample?.cpuPercent ?? [:]))
        }
        let resources = sampler.resources
        let processes = resources.maxRssKB.keys.sorted().map {
            LoadReport.ProcessFigures(name: $0, maxRssKB: resources.maxRssKB[$0] ?? 0, cpuSeconds: ((resources.cpuSeconds[$0] ?? 0) * 10).rounded() / 10)
        }
        var setup: [String: String] = [
            "regions": String(scenario.regions.count), "replicasPerRegion": String(scenario.replicasPerRegion),
            "workersPerReplica": String(scenario.workersPerReplica), "contexts": String(scenario.contexts),
            "bodyBytes": String(scenario.bodyBytes), "writeRate": scenario.writeRate.description,
            "deleteShare": String(scenario.deleteShare), "writers": String(scenario.writers),
            "hubBatchSize": String(scenario.hubBatchSize), "spokeBatchSize": String(scenario.spokeBatchSize),
            "writerMaxBehindMs": String(Int(writes.maxBehindMs)),
        ]
        if let total = scenario.totalWrites { setup["totalWrites"] = String(total) }
        if let duration = scenario.durationSeconds { setup["durationSeconds"] = String(duration) }
        let reads = injector.reads
        return LoadReport(
            scenario: scenario.name, date: ISO8601DateFormatter().string(from: Date()), command: command, setup: setup,
            writes: writes.accepted, deletes: writes.deletes, writeErrors: writes.errors, deletesOfUnknownIds: writes.deletesOfUnknownIds,
            writeSeconds: writeSeconds, writeRate: Double(writes.accepted) / max(0.001, writeSeconds), published: published,
            publishRate: Double(published) / publishSeconds, replicas: replicas, latencyMs: collector.summary,
            drainSeconds: max(0, Double(lastApplyMs - writeEndMs) / 1000), totalSeconds: Double(max(0, lastApplyMs - start)) / 1000,
            converged: converged, verdict: pass ? "PASS" : "FAIL", differenceCount: differences.count,
            differences: Array(differences.prefix(50)), deadLetters: deadLetters, poisonInjected: injector.poisonInjected,
            poisonPending: poisonPending, outageReadsAnswered: reads.answered, outageReadsFailed: reads.failed,
            expectResync: scenario.expectResync, faults: injector.faults, processes: processes,
            redisMaxMemoryBytes: sampler.maxMemory, problems: problems, warnings: warnings, timeline: timeline)
    }
}
