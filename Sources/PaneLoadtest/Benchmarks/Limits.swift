import Foundation
import Logging
import PaneApp
import PaneCore
import PaneHub
import PaneRedis
import PaneRuntime
import PaneSpoke
import PaneStore
import Synchronization

/// `pane-loadtest limits`: the machine's bounds and Pane's rates, measured in one run against
/// one private redis-server, reported as ratios (these machines are shared and noisy).
public struct Limits: Sendable {
    public var writes: Int
    public var bodyBytes: Int
    public var regions: Int
    public var batch: Int
    /// The hub stores' `hub.durability` (``durabilities``); an unknown name is `full`.
    public var durabilityName: String = HubDurability.full.rawValue
    /// The values of `hub.durability`.
    public static let durabilities = HubDurability.allCases.map(\.rawValue)
    var durability: HubDurability { HubDurability(rawValue: durabilityName) ?? .full }

    /// Masters of a private Redis Cluster to publish and apply on as well, beside the one server
    /// (issue 14); 0 for none.
    public var clusterMasters: Int = 0

    public init(writes: Int, bodyBytes: Int, regions: Int = 3, batch: Int = 500) {
        self.writes = writes
        self.bodyBytes = bodyBytes
        self.regions = regions
        self.batch = batch
    }

    public struct Report: Sendable, Codable {
        public var date: String
        public var writes: Int
        public var bodyBytes: Int
        public var regions: Int
        /// redis-benchmark, one client, pipeline 100 (like the hub's one publisher connection).
        public var redisXaddOneClient: Double
        /// redis-benchmark, 50 clients, pipeline 100: the server's own bound.
        public var redisXaddFiftyClients: Double
        /// Raw SQLite version-gated upsert, batches of `batch`.
        public var rawSQLiteUpsert: Double
        /// ReplicaStore.apply (GRDB, same SQL), batches of `batch`, no Redis.
        public var grdbApply: Double
        /// Hub writes (HubStore.put, one transaction each), writes per second.
        public var hubWrites: Double
        /// Hub writes through the async API from 64 concurrent writers (group commit), writes per second.
        public var hubGroupWrites: Double
        /// Outbox → region streams, entries per second (all regions together).
        public var publish: Double
        /// The publisher's rows per region per round.
        public var publishBatch: Int
        /// One replica's worker: XREADGROUP + decode + apply + XACK, entries per second.
        public var apply: Double
        /// CPU-seconds of the raw SQLite baseline (its thread) and of the one-worker apply (this
        /// process, every thread, while the worker applies; Redis apart), so the apply's share
        /// can be judged per CPU-second too: the baseline's wall-clock rate moves with the disk's
        /// sync latency (docs/benchmarks.md). Absent in reports from before they were measured.
        public var rawSQLiteCPUSeconds: Double?
        public var applyCPUSeconds: Double?
        /// Redis's own CPU-seconds (`INFO cpu`) while the one worker applied.
        public var applyRedisCPUSeconds: Double?
        /// ``publish`` and ``apply`` again on a Redis Cluster of this many masters (0: not run).
        public var clusterMasters: Int = 0
        public var clusterPublish: Double?
        public var clusterApply: Double?
    }

    public func run(log: (String) -> Void) throws -> Report {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pane-limits-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let redis = try RedisServerProcess(directory: "\(dir)/redis")
        defer { redis.stop() }
        let logger: Logger = {
            var logger = Logger(label: "pane.limits")
            logger.logLevel = .error
            return logger
        }()
        log(
            "redis-server \(redis.endpoint); \(writes) writes of \(bodyBytes)-byte bodies to \(regions) regions; "
                + "hub.durability \(durability.rawValue)")

        let xaddRequests = writes * regions
        let xadd1 = try RedisBenchmarkBaseline.xaddRate(endpoint: redis.endpoint, requests: xaddRequests, clients: 1, pipeline: 100, bodyBytes: bodyBytes)
        log(String(format: "redis-benchmark XADD -c 1 -P 100:   %10.0f /s", xadd1))
        let xadd50 = try RedisBenchmarkBaseline.xaddRate(endpoint: redis.endpoint, requests: xaddRequests, clients: 50, pipeline: 100, bodyBytes: bodyBytes)
        log(String(format: "redis-benchmark XADD -c 50 -P 100:  %10.0f /s", xadd50))
        let conn = try RedisConnection(endpoint: redis.endpoint)
        try conn.del([RedisBenchmarkBaseline.key(clients: 1), RedisBenchmarkBaseline.key(clients: 50)])

        let rawRun = try RawSQLiteBaseline.upsert(path: "\(dir)/raw.sqlite", rows: writes, bodyBytes: bodyBytes, batch: batch)
        let raw = rawRun.rowsPerSecond
        log(
            String(
                format: "raw SQLite upsert (batch %d):      %10.0f rows/s, %.2f CPU-s (%.0f rows per CPU-s)", batch, raw,
                rawRun.cpuSeconds, rawRun.rowsPerCPUSecond))

        let body = Array(("\"" + String(repeating: "x", count: max(0, bodyBytes - 2)) + "\"").utf8)
        let grdb = try grdbApplyRate(path: "\(dir)/grdb.sqlite", body: body)
        log(String(format: "GRDB ReplicaStore.apply:           %10.0f rows/s", grdb))

        let regionList = try (1...regions).map { try Region("bench-\($0)") }
        let store = try HubStore(path: "\(dir)/hub.sqlite", regions: regionList, durability: durability)
        let start = DispatchTime.now()
        for i in 0..<writes {
            _ = try store.put(id: try ContextID("ctx-\(i)"), body: body)
        }
        let hubWrites = Double(writes) / seconds(since: start)
        log(String(format: "hub writes (one transaction each): %10.0f writes/s", hubWrites))
        let hubGroupWrites = try groupCommitRate(path: "\(dir)/hub-group.sqlite", regions: regionList, body: body)
        log(String(format: "hub writes (64 writers, group commit): %6.0f writes/s", hubGroupWrites))

        // The cluster run publishes the same outbox: a copy taken before it is marked published.
        let unpublished = "\(dir)/hub-unpublished.sqlite"
        if clusterMasters > 0 { _ = try HubBackup.backup(database: "\(dir)/hub.sqlite", to: unpublished) }
        let publish = try publishRate(store: store, topology: .servers(default: redis.endpoint, byRegion: [:]), logger: logger)
        log(String(format: "pane publish (outbox -> streams):  %10.0f entries/s", publish))
        let redisCPUBefore = Self.redisCPUSeconds(conn)
        let cpuBefore = ProcStat.ownCPUSeconds()
        let apply = try applyRate(path: "\(dir)/replica.sqlite", region: regionList[0], configure: { $0.redis = redis.endpoint }, logger: logger)
        let applyCPU = ProcStat.ownCPUSeconds() - cpuBefore
        let applyRedisCPU = Self.redisCPUSeconds(conn).flatMap { after in redisCPUBefore.map { after - $0 } }
        log(
            String(
                format: "pane apply (one worker, end to end): %8.0f entries/s, %.2f CPU-s (%.0f entries per CPU-s), Redis %.2f CPU-s",
                apply, applyCPU, Double(writes) / applyCPU, applyRedisCPU ?? .nan))

        var clusterPublish: Double?
        var clusterApply: Double?
        if clusterMasters > 0 {
            let cluster = try RedisClusterProcess(directory: "\(dir)/cluster", masters: clusterMasters, replicasPerMaster: 0)
            defer { cluster.stop() }
            let map = ClusterMap(seeds: cluster.nodes.map(\.endpoint))
            let slotMap = try cluster.slotMap()
            let masters = Set(regionList.compactMap { slotMap.master(of: $0.keys.updates.hashSlot) }).count
            log("redis cluster of \(clusterMasters) masters (\(cluster.seeds)); the \(regions) regions are on \(masters) of them")
            let clusterStore = try HubStore(path: unpublished, regions: regionList, durability: durability)
            clusterPublish = try publishRate(store: clusterStore, topology: .cluster(map), logger: logger)
            log(String(format: "pane publish on the cluster:       %10.0f entries/s", clusterPublish ?? 0))
            clusterApply = try applyRate(
                path: "\(dir)/replica-cluster.sqlite", region: regionList[0], configure: { $0.redisCluster = map }, logger: logger)
            log(String(format: "pane apply on the cluster:         %10.0f entries/s", clusterApply ?? 0))
        }

        return Report(
            date: ISO8601DateFormatter().string(from: Date()), writes: writes, bodyBytes: bodyBytes, regions: regions,
            redisXaddOneClient: xadd1, redisXaddFiftyClients: xadd50, rawSQLiteUpsert: raw, grdbApply: grdb,
            hubWrites: hubWrites, hubGroupWrites: hubGroupWrites, publish: publish, publishBatch: PublisherConfiguration().batchSize, apply: apply,
            rawSQLiteCPUSeconds: rawRun.cpuSeconds, applyCPUSeconds: applyCPU, applyRedisCPUSeconds: applyRedisCPU,
            clusterMasters: clusterMasters, clusterPublish: clusterPublish, clusterApply: clusterApply)
    }

    /// Redis's own CPU-seconds so far (`used_cpu_sys` + `used_cpu_user` of `INFO cpu`); nil when
    /// it cannot be read.
    static func redisCPUSeconds(_ conn: RedisConnection) -> Double? {
        guard let text = try? conn.info("cpu") else { return nil }
        return redisCPUSeconds(info: text)
    }

    /// `used_cpu_sys` + `used_cpu_user` of an `INFO cpu` answer. Pure.
    static func redisCPUSeconds(info: String) -> Double? {
        var fields: [String: Double] = [:]
        for line in info.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, let value = Double(parts[1].trimmingCharacters(in: .whitespaces)) { fields[String(parts[0])] = value }
        }
        guard let sys = fields["used_cpu_sys"], let user = fields["used_cpu_user"] else { return nil }
        return sys + user
    }

    /// Publishes `store`'s whole outbox through `topology`; entries per second.
    private func publishRate(store: HubStore, topology: RedisTopology, logger: Logger) throws -> Double {
        let publisher = Publisher(store: store, redis: topology, config: PublisherConfiguration(), logger: logger)
        let stop = StopFlag()
        let publisherDone = DispatchSemaphore(value: 0)
        let start = DispatchTime.now()
        let publisherThread = Thread {
            nameCurrentThread("bench-publish")
            do { try publisher.runBlocking(stop: stop) } catch { logger.error("publisher failed", metadata: ["error": "\(error)"]) }
            publisherDone.signal()
        }
        publisherThread.name = "bench-publish"
        publisherThread.start()
        while try store.outboxDepth().values.contains(where: { $0 > 0 }) { usleep(2_000) }
        let rate = Double(writes * regions) / seconds(since: start)
        stop.stop()
        store.doorbell.ring()
        publisherDone.wait()
        return rate
    }

    /// One worker of a new replica applies `region`'s stream (`writes` entries), reached as
    /// `configure` says; entries per second, end to end.
    private func applyRate(path: String, region: Region, configure: (inout SpokeConfiguration) -> Void, logger: Logger) throws -> Double {
        let replica = try ReplicaStore(path: path)
        var spokeConfig = SpokeConfiguration(region: region, replica: try ReplicaName("bench"), databasePath: replica.path)
        configure(&spokeConfig)
        spokeConfig.batchSize = SpokeConfiguration.defaultBatchSize
        spokeConfig.blockMs = 100
        let status = SpokeStatus()
        let worker = SpokeWorker(config: spokeConfig, store: replica, status: status, logger: logger)
        let workerStop = StopFlag()
        let workerDone = DispatchSemaphore(value: 0)
        let start = DispatchTime.now()
        let workerThread = Thread {
            nameCurrentThread("bench-apply")
            do { try worker.runBlocking(stop: workerStop) } catch { logger.error("worker failed", metadata: ["error": "\(error)"]) }
            workerDone.signal()
        }
        workerThread.name = "bench-apply"
        workerThread.start()
        while status.maxSeq < UInt64(writes) { usleep(1_000) }
        let rate = Double(writes) / seconds(since: start)
        workerStop.stop()
        workerDone.wait()
        return rate
    }

    /// Writes through the async API, as the HTTP handlers do, from 64 concurrent tasks.
    private func groupCommitRate(path: String, regions: [Region], body: [UInt8]) throws -> Double {
        let store = try HubStore(path: path, regions: regions, durability: durability)
        let start = DispatchTime.now()
        try Self.putConcurrently(store, count: writes, writers: 64, body: body)
        return Double(writes) / seconds(since: start)
    }

    /// Puts `ctx-0` … `ctx-<count-1>` through the hub's async API (group commit) from `writers`
    /// concurrent tasks, and waits for all of them. The first error is thrown.
    static func putConcurrently(_ store: HubStore, count: Int, writers: Int, body: [UInt8]) throws {
        let done = DispatchSemaphore(value: 0)
        let failure = Mutex<(any Error)?>(nil)
        Task {
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for writer in 0..<writers {
                        group.addTask {
                            for i in stride(from: writer, to: count, by: writers) {
                                _ = try await store.put(id: try ContextID("ctx-\(i)"), body: body)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            } catch {
                failure.withLock { $0 = error }
            }
            done.signal()
        }
        done.wait()
        if let error = failure.withLock({ $0 }) { throw error }
    }

    private func grdbApplyRate(path: String, body: [UInt8]) throws -> Double {
        let store = try ReplicaStore(path: path)
        let now = WallClock.nowUs()
        let updates = try (0..<writes).map {
            ContextUpdate(seq: UInt64($0 + 1), id: try ContextID("ctx-\($0)"), version: 1, op: .put, body: body, hubTimeUs: now)
        }
        let start = DispatchTime.now()
        var i = 0
        while i < updates.count {
            let end = min(i + batch, updates.count)
            _ = try store.apply(Array(updates[i..<end]))
            i = end
        }
        return Double(writes) / seconds(since: start)
    }

    private func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}

extension Limits.Report {
    func pct(_ a: Double, _ b: Double) -> String { String(format: "%5.1f%%", 100 * a / b) }

    /// The summary table, with Pane's rates as ratios to the machine's bounds.
    public var table: String {
        return """
            | measure | rate /s | ratio |
            |---|---:|---|
            | redis-benchmark XADD, 1 client, -P 100 | \(Int(redisXaddOneClient)) | baseline |
            | redis-benchmark XADD, 50 clients, -P 100 | \(Int(redisXaddFiftyClients)) | baseline |
            | raw SQLite version-gated upsert, batch 500 | \(Int(rawSQLiteUpsert)) | baseline |
            | GRDB ReplicaStore.apply, batch 500 | \(Int(grdbApply)) | \(pct(grdbApply, rawSQLiteUpsert)) of raw SQLite |
            | hub writes (1 transaction each, \(regions) regions) | \(Int(hubWrites)) | |
            | hub writes (async API, 64 writers, group commit) | \(Int(hubGroupWrites)) | \(String(format: "%.1fx", hubGroupWrites / hubWrites)) one transaction each |
            | pane publish, entries to \(regions) streams (batch \(publishBatch)/region) | \(Int(publish)) | \(pct(publish, redisXaddOneClient)) of 1-client XADD, \(pct(publish, redisXaddFiftyClients)) of 50-client XADD |
            | pane apply, one worker end to end | \(Int(apply)) | \(pct(apply, rawSQLiteUpsert)) of raw SQLite |
            """ + cpuRows + clusterRows
    }

    /// Raw SQLite's and the apply's rows per CPU-second, and the apply's share by that measure
    /// (the wall-clock share moves with the disk's sync latency through the baseline).
    var cpuRows: String {
        guard let rawCPU = rawSQLiteCPUSeconds, let applyCPU = applyCPUSeconds, rawCPU > 0, applyCPU > 0 else { return "" }
        let rawPerCPU = Double(writes) / rawCPU
        let applyPerCPU = Double(writes) / applyCPU
        let redis = applyRedisCPUSeconds.map { String(format: "; Redis %.2f CPU-s more", $0) } ?? ""
        let rawLabel = "raw SQLite upsert, rows per CPU-second (\(String(format: "%.2f", rawCPU)) CPU-s)"
        let applyLabel = "pane apply, entries per CPU-second of this process (\(String(format: "%.2f", applyCPU)) CPU-s\(redis))"
        return """

            | \(rawLabel) | \(Int(rawPerCPU)) | baseline |
            | \(applyLabel) | \(Int(applyPerCPU)) | \(pct(applyPerCPU, rawPerCPU)) of raw SQLite per CPU-second |
            """
    }

    /// The cluster's rows, when it ran: the same publish and apply on a cluster against one server.
    var clusterRows: String {
        guard let clusterPublish, let clusterApply else { return "" }
        func ratio(_ a: Double, _ b: Double) -> String { String(format: "%.2fx", a / b) }
        return """

            | pane publish on a \(clusterMasters)-master Redis Cluster (a lane per region) | \(Int(clusterPublish)) | \(ratio(clusterPublish, publish)) one server |
            | pane apply on the cluster, one worker end to end | \(Int(clusterApply)) | \(ratio(clusterApply, apply)) one server |
            """
    }
}
