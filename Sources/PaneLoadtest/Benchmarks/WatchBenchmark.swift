import Foundation
import GRDBSQLite
import PaneApp
import PaneCore
import PaneReader
import Synchronization

/// Issue 12's watch and embedded-reader figures, against a real hub and spoke on a private
/// redis-server (docs/benchmarks.md, "Watches and the embedded reader"):
///
/// - commit to wire: one watcher on a prefix while the hub takes `rate` writes/s of new ids; for
///   each `put` event, the time from the spoke's commit of that write (its latency log, µs) to
///   the event's arrival at the watcher;
/// - idle watchers: `idleWatchers` open watches that nothing wakes, and the spoke's RSS before
///   and after;
/// - `PaneReader.get` against a raw SQLite point select on the same file, same ids, same thread.
public struct WatchBenchmark: Sendable {
    public var paneBinary: String
    public var rates: [Int]
    public var seconds: Int
    public var idleWatchers: Int
    public var gets: Int

    public init(paneBinary: String, rates: [Int] = [1_000, 5_000], seconds: Int = 10, idleWatchers: Int = 10_000, gets: Int = 200_000) {
        self.paneBinary = paneBinary
        self.rates = rates
        self.seconds = seconds
        self.idleWatchers = idleWatchers
        self.gets = gets
    }

    /// Commit-to-wire latency at one write rate.
    public struct Latency: Sendable, Codable {
        public var writesPerSecond: Int
        public var achievedWritesPerSecond: Double
        public var events: Int
        public var p50Ms: Double
        public var p99Ms: Double
        /// The slowest event: a change signalled before its commit was visible waits for the
        /// next signal (docs/architecture.md, "Waiting").
        public var maxMs: Double
    }

    /// Idle watchers held by one spoke worker.
    public struct Idle: Sendable, Codable {
        public var requested: Int
        public var opened: Int
        public var rssBeforeKB: Int
        public var rssAfterKB: Int
        public var firstFailure: String?
    }

    /// Point reads of one file: the embedded reader against raw SQLite.
    public struct Reader: Sendable, Codable {
        public var gets: Int
        public var paneReaderPerSecond: Double
        public var rawPerSecond: Double
        public var paneReaderP50Us: Double
        public var rawP50Us: Double
        /// `paneReaderPerSecond / rawPerSecond` (the target is at least 0.8).
        public var share: Double
    }

    public struct Report: Sendable, Codable {
        public var date: String
        public var paneBinary: String
        public var latency: [Latency]
        public var idle: Idle
        public var reader: Reader
    }

    static let region = "watchbench"

    public func run(log: (String) -> Void) throws -> Report {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pane-watch-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Each idle watcher is a socket here and one in the spoke (a child: it inherits the limit).
        Self.raiseFileLimit()
        let redis = try RedisServerProcess(directory: "\(dir)/redis")
        defer { redis.stop() }
        let hubPort = LocalPorts.free()
        let spokePort = LocalPorts.free()
        let hub = try ChildProcess(
            name: "hub", executable: paneBinary,
            arguments: [
                "hub", "--redis", redis.endpoint.description, "--regions", Self.region, "--db", "\(dir)/hub.sqlite",
                "--http", "127.0.0.1:\(hubPort)", "--log-level", "warning",
            ], logPath: "\(dir)/hub.log")
        defer { _ = hub.stop() }
        let db = "\(dir)/a.sqlite"
        let latencyLog = "\(dir)/latency.log"
        let spoke = try ChildProcess(
            name: "spoke", executable: paneBinary,
            arguments: [
                "spoke", "--redis", redis.endpoint.description, "--region", Self.region, "--replica", "a", "--db", db,
                "--http", "127.0.0.1:\(spokePort)", "--log-level", "warning", "--latency-log", latencyLog,
                "--max-watchers", String(idleWatchers + 100),
            ], logPath: "\(dir)/spoke.log")
        defer { _ = spoke.stop() }
        try ReadBenchmark.waitFor("the hub's /healthz", child: hub) { try HTTPProbe(port: hubPort, timeoutMs: 500).get("/healthz").status == 200 }
        try ReadBenchmark.waitFor("the spoke's /healthz", child: spoke) {
            try HTTPProbe(port: spokePort, timeoutMs: 500).get("/healthz").status == 200
        }

        var latency: [Latency] = []
        for (round, rate) in rates.enumerated() {
            let result = try commitToWire(rate: rate, prefix: "r\(round)/", hubPort: hubPort, spokePort: spokePort, latencyLog: latencyLog)
            log(
                String(
                    format: "commit to wire at %d writes/s (%.0f achieved): %d events, p50 %.2f ms, p99 %.2f ms, max %.2f ms", rate,
                    result.achievedWritesPerSecond, result.events, result.p50Ms, result.p99Ms, result.maxMs))
            latency.append(result)
        }
        let idle = try idleConnections(spoke: spoke, port: spokePort)
        log(
            "idle watchers: \(idle.opened) of \(idle.requested) open; spoke RSS \(idle.rssBeforeKB / 1024) MB before, "
                + "\(idle.rssAfterKB / 1024) MB after" + (idle.firstFailure.map { "; first failure: \($0)" } ?? ""))
        let reader = try pointReads(db: db)
        log(
            String(
                format: "PaneReader.get %.0f/s (p50 %.2f µs) against raw SQLite %.0f/s (p50 %.2f µs): %.0f%%", reader.paneReaderPerSecond,
                reader.paneReaderP50Us, reader.rawPerSecond, reader.rawP50Us, reader.share * 100))
        guard spoke.isRunning else { throw LoadtestError.processExited("the spoke", log: spoke.logPath) }
        return Report(date: ISO8601DateFormatter().string(from: Date()), paneBinary: paneBinary, latency: latency, idle: idle, reader: reader)
    }

    /// Writes new ids under `prefix` at `rate` for ``seconds`` from four threads while one
    /// watcher of `prefix` notes each `put`'s arrival (µs); joins them with the spoke's commit
    /// times through the writes' seqs.
    func commitToWire(rate: Int, prefix: String, hubPort: Int, spokePort: Int, latencyLog: String) throws -> Latency {
        let watcher = try EventStreamClient(port: spokePort, path: "/v1/watch?prefix=\(prefix)")
        guard watcher.status == 200 else { throw LoadtestError.unreadableOutput("the watch", watcher.text) }
        let arrivals = Mutex<[String: Int64]>([:])
        let reading = Thread {
            _ = watcher.run { event in
                guard event.name == "put", let id = Self.field("id", in: event.data) else { return }
                let now = WallClock.nowUs()
                arrivals.withLock { $0[id] = now }
            }
        }
        reading.start()
        let seqs = Mutex<[String: UInt64]>([:])
        let lanes = 4
        let total = rate * seconds
        let start = Date()
        let region = try Region(Self.region)
        let done = DispatchGroup()
        for lane in 0..<lanes {
            done.enter()
            Thread {
                defer { done.leave() }
                let probe = HTTPProbe(port: hubPort)
                for i in stride(from: lane, to: total, by: lanes) {
                    // Paced: write i is due at i / rate seconds after the start.
                    let due = start.addingTimeInterval(Double(i) / Double(rate))
                    let wait = due.timeIntervalSinceNow
                    if wait > 0 { Thread.sleep(forTimeInterval: wait) }
                    let id = "\(prefix)\(i)"
                    let path = "/v1/contexts/\(id.replacingOccurrences(of: "/", with: "%2F"))"
                    guard let reply = try? probe.request("PUT", path, body: Array("{\"i\":\(i)}".utf8)),
                        let index = Self.field("index", in: reply.text), let token = try? PositionToken(parsing: index, input: "index"),
                        let seq = token.positions[region]
                    else { continue }
                    seqs.withLock { $0[id] = seq }
                }
            }.start()
        }
        done.wait()
        let achieved = Double(total) / Date().timeIntervalSince(start)
        let written = seqs.withLock { $0 }
        let deadline = Date().addingTimeInterval(30)
        while arrivals.withLock({ $0.count }) < written.count && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        watcher.close()
        // The spoke writes its latency log every 100 ms (LatencyLog): the last commits' lines
        // follow their events by up to that much.
        Thread.sleep(forTimeInterval: 0.3)
        let commits = try Self.commitTimes(latencyLog)
        var samples: [Int64] = []
        for (id, arrivedUs) in arrivals.withLock({ $0 }) {
            guard let seq = written[id], let committedUs = commits[seq] else { continue }
            samples.append(max(0, arrivedUs - committedUs))
        }
        samples.sort()
        func ms(_ q: Double) -> Double { samples.isEmpty ? 0 : Double(samples[min(samples.count - 1, Int(Double(samples.count) * q))]) / 1000 }
        return Latency(
            writesPerSecond: rate, achievedWritesPerSecond: achieved, events: samples.count, p50Ms: ms(0.5), p99Ms: ms(0.99),
            maxMs: Double(samples.last ?? 0) / 1000)
    }

    /// Opens ``idleWatchers`` watches on a prefix nothing writes, one after the other, and
    /// reads the spoke's RSS before and after (after a second to settle).
    func idleConnections(spoke: ChildProcess, port: Int) throws -> Idle {
        let before = ProcStat.rssKB(pid: spoke.pid) ?? 0
        var open: [EventStreamClient] = []
        var failure: String?
        for _ in 0..<idleWatchers {
            do {
                let client = try EventStreamClient(port: port, path: "/v1/watch?prefix=idle/")
                guard client.status == 200 else {
                    failure = "\(client.status) \(client.text)"
                    break
                }
                open.append(client)
            } catch {
                failure = "\(error)"
                break
            }
        }
        Thread.sleep(forTimeInterval: 1)
        let after = ProcStat.rssKB(pid: spoke.pid) ?? 0
        for client in open { client.close(running: false) }
        return Idle(requested: idleWatchers, opened: open.count, rssBeforeKB: before, rssAfterKB: after, firstFailure: failure)
    }

    /// Point reads of the contexts the latency rounds wrote (up to 10,000 ids): both readers get
    /// the same ids in the same order, on this thread.
    func pointReads(db: String) throws -> Reader {
        let reader = try PaneReader(path: db)
        let ids = try reader.list(prefix: "", limit: 10_000).map(\.id)
        guard !ids.isEmpty else { throw LoadtestError.timedOut("the replica holds no contexts to read") }
        let contextIDs = try ids.map { try ContextID($0) }
        var readerNs: [UInt64] = []
        readerNs.reserveCapacity(gets)
        let readerStart = DispatchTime.now().uptimeNanoseconds
        for i in 0..<gets {
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = try reader.get(contextIDs[i % contextIDs.count])
            readerNs.append(DispatchTime.now().uptimeNanoseconds - t0)
        }
        let readerSeconds = Double(DispatchTime.now().uptimeNanoseconds - readerStart) / 1e9
        let (rawNs, rawSeconds) = try Self.rawPointReads(db: db, ids: ids, gets: gets)
        readerNs.sort()
        let raw = rawNs.sorted()
        let readerRate = Double(gets) / readerSeconds
        let rawRate = Double(gets) / rawSeconds
        return Reader(
            gets: gets, paneReaderPerSecond: readerRate, rawPerSecond: rawRate, paneReaderP50Us: Double(readerNs[gets / 2]) / 1000,
            rawP50Us: Double(raw[gets / 2]) / 1000, share: readerRate / rawRate)
    }

    /// The bound: one read-only connection, one prepared `SELECT … WHERE id = ?`, the row's
    /// columns copied out as `PaneReader.get` does.
    static func rawPointReads(db path: String, ids: [String], gets: Int) throws -> ([UInt64], Double) {
        var db: OpaquePointer?
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, nil) == SQLITE_OK, let db else { throw LoadtestError.sqlite("cannot open \(path)") }
        defer { sqlite3_close(db) }
        let sql = "SELECT id, version, deleted, body, hub_ts FROM contexts WHERE id = ?"
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw LoadtestError.sqlite(String(cString: sqlite3_errmsg(db)))
        }
        defer { sqlite3_finalize(statement) }
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        var times: [UInt64] = []
        times.reserveCapacity(gets)
        let start = DispatchTime.now().uptimeNanoseconds
        for i in 0..<gets {
            let t0 = DispatchTime.now().uptimeNanoseconds
            sqlite3_bind_text(statement, 1, ids[i % ids.count], -1, transient)
            if sqlite3_step(statement) == SQLITE_ROW {
                let count = Int(sqlite3_column_bytes(statement, 3))
                if count > 0, let bytes = sqlite3_column_blob(statement, 3) { _ = Array(UnsafeRawBufferPointer(start: bytes, count: count)) }
                _ = String(cString: sqlite3_column_text(statement, 0))
            }
            sqlite3_reset(statement)
            times.append(DispatchTime.now().uptimeNanoseconds - t0)
        }
        return (times, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    /// The latency log's replica commit time (µs) per seq.
    static func commitTimes(_ path: String) throws -> [UInt64: Int64] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var out: [UInt64: Int64] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3, let seq = UInt64(fields[0]), let committed = Int64(fields[2]) else { continue }
            out[seq] = fields.count >= 4 && fields[3] == "us" ? committed : committed * 1000
        }
        return out
    }

    /// A string field of a flat JSON text (`"name":"value"`), without a JSON parser.
    static func field(_ name: String, in text: String) -> String? {
        guard let range = text.range(of: "\"\(name)\":\"") else { return nil }
        let rest = text[range.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }

    /// The open-files limit up to its hard maximum.
    static func raiseFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}

extension WatchBenchmark.Report {
    /// The summary tables.
    public var table: String {
        let readerRow =
            "| \(reader.gets) | \(Int(reader.paneReaderPerSecond)) | \(Int(reader.rawPerSecond)) | "
            + String(format: "%.0f%% | %.2f | %.2f |", reader.share * 100, reader.paneReaderP50Us, reader.rawP50Us)
        let rows = latency.map {
            String(
                format: "| %d | %.0f | %d | %.2f | %.2f | %.2f |", $0.writesPerSecond, $0.achievedWritesPerSecond, $0.events, $0.p50Ms, $0.p99Ms,
                $0.maxMs)
        }
        return """
            | writes/s asked | achieved | put events | commit to wire p50 ms | p99 ms | max ms |
            |---:|---:|---:|---:|---:|---:|
            \(rows.joined(separator: "\n"))

            | idle watchers asked | open | spoke RSS before MB | after MB |
            |---:|---:|---:|---:|
            | \(idle.requested) | \(idle.opened) | \(idle.rssBeforeKB / 1024) | \(idle.rssAfterKB / 1024) |

            | point reads | PaneReader.get /s | raw SQLite /s | share | PaneReader p50 µs | raw p50 µs |
            |---:|---:|---:|---:|---:|---:|
            \(readerRow)
            """
    }
}
