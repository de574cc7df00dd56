import Foundation
import GRDBSQLite
import Logging
import PaneApp
import PaneCore
import PaneHub
import PaneRedis
import PaneSpoke
import PaneStore

/// `pane-loadtest bootstrap`: how long a new, empty replica takes to bootstrap from a snapshot
/// of N contexts, its peak memory while it does, and the size of anti-entropy traffic when 0, 1
/// and 100 buckets differ. Real processes: a private redis-server, `pane hub`, `pane spoke`.
/// The baseline, measured in the same run, is raw SQLite inserting the same rows in batches.
public struct BootstrapBenchmark: Sendable {
    public var contexts: Int
    public var bodyBytes: Int
    public var paneBinary: String

    public init(contexts: Int, bodyBytes: Int, paneBinary: String) {
        self.contexts = contexts
        self.bodyBytes = bodyBytes
        self.paneBinary = paneBinary
    }

    public struct Report: Sendable, Codable {
        public var date: String
        public var contexts: Int
        public var bodyBytes: Int
        /// Raw SQLite batched upsert of the same number of rows, rows per second.
        public var rawSQLiteRate: Double
        /// From the spoke's start to its watermark passing the snapshot: request, snapshot
        /// build at the hub, transfer and apply.
        public var bootstrapSeconds: Double
        /// The spoke's own figure: from the first chunk to the finished snapshot.
        public var applySeconds: Double?
        /// Rows per second over the whole bootstrap, and as a share of raw SQLite.
        public var bootstrapRate: Double
        public var ratioToRawSQLite: Double
        /// The spoke's peak resident memory (VmHWM), MB.
        public var spokePeakRSSMB: Double
        /// CPU seconds (user + system) the spoke and the hub used from their start to the end of
        /// the bootstrap: on a shared machine, steadier than the wall-clock figures.
        public var spokeCPUSeconds: Double?
        public var hubCPUSeconds: Double?
        /// Bytes of one digest report, and of the repair traffic for 0, 1 and 100 differing buckets.
        public var digestBytes: Int
        public var antiEntropy: [AntiEntropyCase]
    }

    public struct AntiEntropyCase: Sendable, Codable {
        public var differingBuckets: Int
        public var detectedBuckets: Int
        public var contextsSent: Int
        /// Digest report + snapshot chunks + announcement.
        public var bytesOnWire: Int
        public var secondsToRepair: Double
    }

    public func run(log: (String) -> Void) throws -> Report {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pane-bootstrap-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }

        let raw = try RawSQLiteBaseline.upsertRate(path: "\(dir)/raw.sqlite", rows: contexts, bodyBytes: bodyBytes, batch: 2_000)
        log(String(format: "raw SQLite upsert of %d rows (batch 2000): %.0f rows/s", contexts, raw))
        try? FileManager.default.removeItem(atPath: "\(dir)/raw.sqlite")

        let redis = try RedisServerProcess(directory: "\(dir)/redis")
        defer { redis.stop() }
        let region = try Region("bootstrap")
        let hubDB = "\(dir)/hub.sqlite"
        let lastSeq = try fillHub(path: hubDB, region: region, log: log)
        // The stream exists and is at the hub's last seq, but holds nothing: as if trimmed.
        let conn = try RedisConnection(endpoint: redis.endpoint)
        try conn.xadd(key: region.keys.updates, id: "\(lastSeq)-0", fields: [("x", Array("1".utf8))])
        try conn.xtrim(key: region.keys.updates, to: .maxLength(0), approximate: false)

        let hubPort = LocalPorts.free()
        let hub = try ChildProcess(
            name: "hub", executable: paneBinary,
            arguments: [
                "hub", "--redis", redis.endpoint.description, "--regions", region.name, "--db", hubDB, "--http", "127.0.0.1:\(hubPort)",
                "--anti-entropy-interval-ms", "1000", "--log-level", "notice",
            ], logPath: "\(dir)/hub.log")
        defer { _ = hub.stop() }
        let spokeDB = "\(dir)/spoke.sqlite"
        let started = Date()
        let spoke = try ChildProcess(
            name: "spoke", executable: paneBinary,
            arguments: [
                "spoke", "--redis", redis.endpoint.description, "--region", region.name, "--replica", "a", "--db", spokeDB,
                "--http", "127.0.0.1:\(LocalPorts.free())", "--digest-interval-ms", "2000", "--log-level", "notice",
            ], logPath: "\(dir)/spoke.log")
        defer { _ = spoke.stop() }
        log("spoke started with an empty replica; waiting for its bootstrap")
        var lastLog = Date()
        while true {
            if let beat = try heartbeat(conn, region), beat.watermark > lastSeq { break }
            guard spoke.isRunning, hub.isRunning else { throw LoadtestError.processExited("a process", log: dir) }
            guard Date().timeIntervalSince(started) < 600 else { throw LoadtestError.timedOut("no bootstrap within 600 s") }
            if Date().timeIntervalSince(lastLog) >= 5 {
                lastLog = Date()
                let progress = try heartbeat(conn, region)?.resync
                log("  \(Int(Date().timeIntervalSince(started))) s: \(progress.map { "\($0.state) \($0.chunksDone)/\($0.chunks)" } ?? "waiting")")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let bootstrapSeconds = Date().timeIntervalSince(started)
        let peak = ProcStat.peakRSSKB(pid: spoke.pid) ?? 0
        let spokeCPU = ProcStat.cpuSeconds(pid: spoke.pid)
        let hubCPU = ProcStat.cpuSeconds(pid: hub.pid)
        let spokeLog = (try? String(contentsOfFile: spoke.logPath, encoding: .utf8)) ?? ""
        let applySeconds = Self.appliedSeconds(log: spokeLog)
        log(String(format: "bootstrap: %.2f s (spoke apply %.2f s), %.0f rows/s, peak RSS %.0f MB", bootstrapSeconds, applySeconds ?? -1, Double(contexts) / bootstrapSeconds, Double(peak) / 1024))
        log(String(format: "CPU to ready: spoke %.2f s, hub %.2f s (since each started)", spokeCPU ?? -1, hubCPU ?? -1))

        var cases: [AntiEntropyCase] = []
        var digestBytes = 0
        for differing in [0, 1, 100] {
            let result = try antiEntropyCase(differing: differing, conn: conn, region: region, spokeDB: spokeDB, digestBytes: &digestBytes)
            log("anti-entropy, \(differing) buckets differ: \(result.detectedBuckets) detected, \(result.contextsSent) contexts sent, \(result.bytesOnWire) bytes, repaired in \(String(format: "%.1f", result.secondsToRepair)) s")
            cases.append(result)
        }
        let rate = Double(contexts) / bootstrapSeconds
        return Report(
            date: ISO8601DateFormatter().string(from: Date()), contexts: contexts, bodyBytes: bodyBytes, rawSQLiteRate: raw,
            bootstrapSeconds: bootstrapSeconds, applySeconds: applySeconds, bootstrapRate: rate, ratioToRawSQLite: rate / raw,
            spokePeakRSSMB: Double(peak) / 1024, spokeCPUSeconds: spokeCPU, hubCPUSeconds: hubCPU, digestBytes: digestBytes, antiEntropy: cases)
    }

    /// Writes `contexts` contexts through the hub's own store, then marks the outbox published:
    /// the stream is not involved, only the snapshot is.
    private func fillHub(path: String, region: Region, log: (String) -> Void) throws -> UInt64 {
        let store = try HubStore(path: path, regions: [region])
        let body = Array(("\"" + String(repeating: "x", count: max(0, bodyBytes - 2)) + "\"").utf8)
        let started = Date()
        try Limits.putConcurrently(store, count: contexts, writers: 32, body: body)
        let last = try store.lastSeq(region: region)
        store.markPublished(region: region, upTo: last)
        try store.persistPublished()
        log(String(format: "hub holds %d contexts (seq %d), written in %.1f s", contexts, last, Date().timeIntervalSince(started)))
        return last
    }

    private func antiEntropyCase(differing: Int, conn: RedisConnection, region: Region, spokeDB: String, digestBytes: inout Int) throws -> AntiEntropyCase {
        // Damage one row in each of `differing` distinct buckets.
        var ids: [String] = []
        var buckets = Set<Int>()
        var i = 0
        while ids.count < differing {
            let id = "ctx-\(i)"
            if buckets.insert(ContextDigest.bucket(of: id)).inserted { ids.append(id) }
            i += 1
        }
        try Self.deleteRows(path: spokeDB, ids: ids)
        let since = WallClock.nowMs()
        let started = Date()
        var verdict: DigestVerdict?
        // Only a verdict on a digest whose scan began after the damage counts: a scan that began
        // before it reports the old rows (one run reported "1 buckets differ: 0 detected"), and
        // one that began between two of the deletes sees only some. The report says when its
        // scan began, and the verdict which report it judged.
        var afterDamage: Set<Int64> = []
        while Date().timeIntervalSince(started) < 120 {
            if let report = StatusJSON.decode(DigestReport.self, try conn.hget(key: region.keys.replicas, field: "a:digest")),
                let scanStarted = report.scanStartedMs, scanStarted > since, afterDamage.insert(report.timeMs).inserted
            {
                digestBytes = StatusJSON.encode(report).utf8.count
            }
            if let v = StatusJSON.decode(DigestVerdict.self, try conn.hget(key: region.keys.replicas, field: "a:verdict")),
                let judged = v.reportTimeMs, afterDamage.contains(judged)
            {
                verdict = v
                break
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        guard let verdict else { throw LoadtestError.timedOut("no anti-entropy verdict within 120 s") }
        var sent = 0
        var bytes = digestBytes
        if !verdict.differing.isEmpty {
            // Find the snapshot the hub announced for these buckets, and measure it.
            var announcement: SnapshotAnnouncement?
            while announcement == nil && Date().timeIntervalSince(started) < 120 {
                let entries = try conn.xrevrange(key: region.keys.updates, count: 50)
                for entry in entries {
                    guard let fields = entry.fields,
                        let update = try? StreamEntryCodec.decode(entryID: entry.id, fields: fields, rules: BodyRules(maxBytes: Int.max)),
                        update.op == .snap, let a = try? SnapshotAnnouncement.decode(update.body), Set(a.buckets ?? []) == Set(verdict.differing)
                    else { continue }
                    announcement = a
                    bytes += fields.reduce(0) { $0 + $1.0.utf8.count + $1.1.count }
                    break
                }
                if announcement == nil { Thread.sleep(forTimeInterval: 0.1) }
            }
            guard let announcement else { throw LoadtestError.timedOut("no snapshot announced for the differing buckets") }
            sent = announcement.rows
            for chunk in try conn.lrange(key: announcement.listKey) {
                bytes += chunk.count
            }
        }
        // Wait until the replica holds the damaged rows again.
        while Date().timeIntervalSince(started) < 120, try Self.countRows(path: spokeDB, ids: ids) < ids.count {
            Thread.sleep(forTimeInterval: 0.1)
        }
        return AntiEntropyCase(
            differingBuckets: differing, detectedBuckets: verdict.differing.count, contextsSent: sent, bytesOnWire: bytes,
            secondsToRepair: Date().timeIntervalSince(started))
    }

    private func heartbeat(_ conn: RedisConnection, _ region: Region) throws -> ReplicaHeartbeat? {
        StatusJSON.decode(ReplicaHeartbeat.self, try conn.hget(key: region.keys.replicas, field: "a"))
    }

    /// The `seconds=` figure of the spoke's "snapshot applied" line.
    static func appliedSeconds(log: String) -> Double? {
        guard let line = log.split(separator: "\n").last(where: { $0.contains("snapshot applied") }),
            let range = line.range(of: "seconds=")
        else { return nil }
        return Double(line[range.upperBound...].prefix { $0.isNumber || $0 == "." })
    }

    static func deleteRows(path: String, ids: [String]) throws {
        try withDatabase(path) { db in
            for id in ids { sqlite3_exec(db, "DELETE FROM contexts WHERE id = '\(id)'", nil, nil, nil) }
            return 0
        }
    }

    static func countRows(path: String, ids: [String]) throws -> Int {
        guard !ids.isEmpty else { return 0 }
        return try withDatabase(path) { db in
            var count = 0
            for id in ids {
                var statement: OpaquePointer?
                sqlite3_prepare_v2(db, "SELECT 1 FROM contexts WHERE id = '\(id)'", -1, &statement, nil)
                if sqlite3_step(statement) == SQLITE_ROW { count += 1 }
                sqlite3_finalize(statement)
            }
            return count
        }
    }

    @discardableResult
    static func withDatabase(_ path: String, _ body: (OpaquePointer) -> Int) throws -> Int {
        var db: OpaquePointer?
        guard sqlite3_open(path, &db) == SQLITE_OK, let db else { throw LoadtestError.sqlite("cannot open \(path)") }
        defer { sqlite3_close(db) }
        sqlite3_busy_timeout(db, 10_000)
        return body(db)
    }
}
