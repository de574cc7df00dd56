import Foundation
import PaneApp
import PaneCore
import PaneHub
import PaneRedis
import PaneSpoke
import PaneStore

#if canImport(Glibc)
    import Glibc
#endif

/// Runs one scenario against real processes: starts redis-server, the hub and the spokes,
/// drives the writes, injects the faults, waits for quiescence, compares every replica with
/// the hub, and builds the report.
public final class ScenarioRunner {
    public let scenario: Scenario
    /// The `pane` executable.
    public let paneBinary: String
    /// Where the processes keep their files; removed after a PASS unless `keepFiles`.
    public let workDirectory: String
    /// The command line, for the report.
    public var command: String = ""
    /// Keep the work folder after a PASS too.
    public var keepFiles = false
    /// Print the live progress line on stderr.
    public var showProgress = true
    /// Point reads per second sent to the first spoke while the writes run (``ReadLoad``); 0 for none.
    public var readRate: Double = 0
    /// Threads (keep-alive connections) sending those reads.
    public var readConnections = 4
    /// Test hook: runs after quiescence and before the final comparison, with every replica's file.
    public var afterQuiescence: (@Sendable ([ReplicaFile]) throws -> Void)?
    let log: @Sendable (String) -> Void

    public init(scenario: Scenario, paneBinary: String, workDirectory: String? = nil, log: @escaping @Sendable (String) -> Void) {
        self.scenario = scenario
        self.paneBinary = paneBinary
        self.workDirectory =
            workDirectory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("pane-loadtest-\(scenario.name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        self.log = log
    }

    /// The `pane` binary next to the running executable.
    public static func siblingPaneBinary() -> String {
        URL(fileURLWithPath: ChildProcess.currentExecutable()).deletingLastPathComponent().appendingPathComponent("pane").path
    }

    public func run() throws -> LoadReport {
        try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
        log("scenario \(scenario.name): \(scenario.regions.count) regions x \(scenario.replicasPerRegion) replicas x \(scenario.workersPerReplica) workers; rate \(scenario.writeRate.description); files in \(workDirectory)")
        let cluster = try Cluster(scenario: scenario, binary: paneBinary, directory: workDirectory, log: log)
        var shutDown = false
        defer { if !shutDown { cluster.shutdown() } }
        let hubStore = try HubStore(path: cluster.hubDatabase, regions: scenario.regions)

        let startMs = WallClock.nowMs()
        let start = DispatchTime.now()
        let collector = LatencyCollector(files: cluster.workers.map { ($0.latencyLogPath, $0.label) }, startMs: startMs)
        let driver = WriteDriver(scenario: scenario, hubPort: cluster.hubPort, token: cluster.writeToken)
        let injector = FaultInjector(cluster: cluster, scenario: scenario, collector: collector, hubStore: hubStore, log: log)
        let stop = StopSignal()
        let sampler = Sampler(cluster: cluster, collector: collector, driver: driver, hubStore: hubStore, showProgress: showProgress)
        let samplerStop = StopSignal()
        let samplerDone = DispatchSemaphore(value: 0)
        Thread {
            sampler.run(start: start, stop: samplerStop)
            samplerDone.signal()
        }.start()
        let faultsDone = DispatchSemaphore(value: 0)
        Thread {
            injector.run(start: start, stop: stop)
            faultsDone.signal()
        }.start()

        var reads: (load: ReadLoad, stop: StopSignal, done: DispatchGroup, target: String)?
        if readRate > 0, let worker = cluster.workers.first {
            let load = ReadLoad(
                rate: readRate, connections: readConnections, port: worker.httpPort, token: cluster.readToken, contexts: scenario.contexts,
                seed: scenario.seed)
            let readStop = StopSignal()
            reads = (load, readStop, load.start(start: start, stop: readStop), "\(worker.label) GET /v1/contexts/{id}")
        }
        driver.run(start: start, stop: stop)
        let writeSeconds = WriteDriver.seconds(since: start)
        var readLoad: LoadReport.ReadLoad?
        if let reads {
            reads.stop.stop()
            reads.done.wait()
            readLoad = reads.load.figures(seconds: writeSeconds, target: reads.target)
        }
        let writeEndMs = WallClock.nowMs()
        log("")
        log(String(format: "writes done after %.1f s; waiting for the fault schedule and for quiescence", writeSeconds))
        faultsDone.wait()

        var problems: [String] = []
        let quiet = waitForQuiescence(cluster: cluster, hubStore: hubStore, collector: collector, injector: injector, problems: &problems)
        log(String(format: quiet ? "quiescent after %.1f s" : "no quiescence after %.1f s", WriteDriver.seconds(since: start)))
        samplerStop.stop()
        samplerDone.wait()
        collector.poll()
        if let hook = afterQuiescence {
            try hook(cluster.replicaFiles.map { ReplicaFile(label: $0.label, path: $0.path) })
        }

        // The verdict: every replica against the hub's state of its region.
        let deadLettered = try deadLetters(cluster: cluster)
        var differences: [Difference] = []
        for file in cluster.replicaFiles {
            let region = try Region(file.region)
            let hubState = try hubStore.state(of: region)
            let replicaState = try ReplicaStore(path: file.path).state()
            differences += Verdict.differences(
                hub: hubState, replica: replicaState, label: file.label, deadLettered: deadLettered.ids[file.region] ?? [])
        }
        for worker in cluster.workers where worker.wanted && !worker.isRunning {
            problems.append("\(worker.name) exited on its own; see \(worker.logPath)")
        }
        if cluster.hubWanted && !cluster.hubRunning { problems.append("the hub exited on its own; see \(workDirectory)/hub.log") }
        for fault in injector.faults where !fault.ok { problems.append("fault \(fault.kind) at \(Int(fault.at)) s: \(fault.detail)") }
        let pending = try pendingEntries(cluster: cluster)
        let poisonPending = pending.filter { StreamEntryCodec.seq(fromEntryID: $0.id) == nil }.count
        let stale = pending.filter { StreamEntryCodec.seq(fromEntryID: $0.id) != nil }
        var warnings: [String] = []
        if !stale.isEmpty {
            let sample = stale.prefix(8).map { "\($0.replica) \($0.id) (\($0.consumer))" }.joined(separator: ", ")
            let text =
                "\(stale.count) hub entries still pending (delivered, never acked) after quiescence: \(sample). "
                + "The replicas hold the hub's state, so they were applied or superseded; the ack was lost (e.g. XACK failed while Redis restarted) "
                + "and the worker does not re-read its pending list after a Redis error."
            if differences.isEmpty { warnings.append(text) } else { problems.append(text) }
        }
        if !quiet { problems.append(String(format: "no quiescence within %.0f s (quiescenceSeconds)", scenario.quiescenceSeconds)) }
        if case .perSecond(let offered) = scenario.writeRate, writeSeconds > 0 {
            // Open-loop writers that fall behind mean the system did not take the offered load:
            // PASS judges convergence, so say it here.
            let achieved = Double(driver.snapshot.accepted) / writeSeconds
            if achieved < offered * 0.9 {
                warnings.append(
                    String(
                        format: "the hub accepted %.0f writes/s of the %.0f offered (%.0f%%); the writers fell %.1f s behind schedule",
                        achieved, offered, achieved / offered * 100, driver.snapshot.maxBehindMs / 1000))
            }
        }
        var finalLags: [String: Int] = [:]
        for file in cluster.replicaFiles {
            let last = try hubStore.lastSeq(region: try Region(file.region))
            finalLags[file.label] = Int(last) - Int(min(last, Self.reached(file, cluster: cluster, collector: collector)))
        }
        let converged = differences.isEmpty && quiet
        let pass = converged && problems.isEmpty

        log("verdict: \(pass ? "PASS" : "FAIL"), \(differences.count) differences; stopping the processes")
        cluster.shutdown(log: log)
        shutDown = true
        log(String(format: "stopped after %.1f s", WriteDriver.seconds(since: start)))
        var report = buildReport(
            cluster: cluster, collector: collector, driver: driver, injector: injector, sampler: sampler, start: startMs,
            writeSeconds: writeSeconds, writeEndMs: writeEndMs, converged: converged, pass: pass, differences: differences,
            problems: problems, warnings: warnings, finalLags: finalLags, deadLetters: deadLettered.count, poisonPending: poisonPending)
        report.readLoad = readLoad
        (report.writeAnswerMs, report.writeServiceMs) = driver.answerLatency
        if pass && !keepFiles { try? FileManager.default.removeItem(atPath: workDirectory) }
        return report
    }

    /// Waits until every region's published seq reached the hub's last seq, every replica applied
    /// it, nothing but poison is pending, and every replica's state equals the hub's. Bounded.
    private func waitForQuiescence(
        cluster: Cluster, hubStore: HubStore, collector: LatencyCollector, injector: FaultInjector, problems: inout [String]
    ) -> Bool {
        let deadline = Date().addingTimeInterval(scenario.quiescenceSeconds)
        while Date() < deadline {
            usleep(200_000)
            collector.poll()
            do {
                guard try hubStore.outboxDepth().values.allSatisfy({ $0 == 0 }) else { continue }
                var caughtUp = true
                for file in cluster.replicaFiles {
                    let last = try hubStore.lastSeq(region: try Region(file.region))
                    if Self.reached(file, cluster: cluster, collector: collector) < last { caughtUp = false }
                }
                guard caughtUp else { continue }
                var same = true
                for file in cluster.replicaFiles {
                    let hubState = try hubStore.state(of: try Region(file.region))
                    if try ReplicaStore(path: file.path).state() != hubState {
                        same = false
                        break
                    }
                }
                if same { return true }
            } catch {
                continue  // Redis may be restarting; look again
            }
        }
        return false
    }

    /// The highest seq a replica has reached: the highest its latency log shows applied, or its
    /// watermark when that is higher (a resync snapshot takes a seq of its own and moves the
    /// watermark without a latency-log line, as after a gap at the very end of a run).
    static func reached(
        _ file: (label: String, region: String, replica: String, path: String), cluster: Cluster, collector: LatencyCollector
    ) -> UInt64 {
        max(collector.replica(file.label)?.maxSeq ?? 0, cluster.watermarks.watermark(file.path))
    }

    /// Entries pending in every replica's consumer group (XPENDING), after letting the last acks land.
    private func pendingEntries(cluster: Cluster) throws -> [(replica: String, id: String, consumer: String)] {
        var result: [(replica: String, id: String, consumer: String)] = []
        for attempt in 0..<10 {
            result = []
            for file in cluster.replicaFiles {
                let region = try Region(file.region)
                let conn = try cluster.redis.connection(for: region)
                defer { conn.close() }
                let key = region.keys.updates
                for row in try conn.xpending(key: key, group: ReplicaName(file.replica).consumerGroup, count: 10_000) {
                    result.append((file.label, row.id, row.consumer))
                }
            }
            let stale = result.filter { StreamEntryCodec.seq(fromEntryID: $0.id) != nil }
            if stale.isEmpty || attempt == 9 { break }
            usleep(300_000)
        }
        return result
    }

    /// Dead-lettered entries, and the context ids they name, per region.
    private func deadLetters(cluster: Cluster) throws -> (count: Int, ids: [String: Set<ContextID>]) {
        var count = 0
        var ids: [String: Set<ContextID>] = [:]
        for region in scenario.regions {
            let conn = try cluster.redis.connection(for: region)
            defer { conn.close() }
            let entries = try conn.xrange(key: region.keys.deadLetters)
            count += entries.count
            for entry in entries {
                guard let ctx = entry.fields?.first(where: { $0.0 == "ctx" })?.1,
                    let id = try? ContextID(String(decoding: ctx, as: UTF8.self))
                else { continue }
                ids[region.name, default: []].insert(id)
            }
        }
        return (count, ids)
    }
}
