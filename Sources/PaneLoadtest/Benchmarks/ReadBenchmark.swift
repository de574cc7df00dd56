import Foundation
import PaneApp
import PaneCore
import PaneRedis

/// The read path against its own bound: a real `pane spoke` (with a `pane hub` and a private
/// redis-server behind it) serves `GET /healthz`, a point read and a list page to Debian's `wrk`,
/// one route after the other, in rounds. `/healthz` is the HTTP server with nothing behind it,
/// so the point read's share of its rate is what the read itself costs. Both processes run with
/// a tokens file, as in production: the reads carry a `read` token (`/healthz` needs none).
public struct ReadBenchmark: Sendable {
    public var paneBinary: String
    /// Seconds of load per route and round.
    public var seconds: Int
    public var rounds: Int
    public var connections: Int
    /// Runs the processes with a tokens file and sends a `read` token; off for a `pane` binary
    /// from before tokens existed (an A/B against an older build).
    public var tokens: Bool

    public init(paneBinary: String, seconds: Int = 5, rounds: Int = 3, connections: Int = 16, tokens: Bool = true) {
        self.paneBinary = paneBinary
        self.seconds = seconds
        self.rounds = rounds
        self.connections = connections
        self.tokens = tokens
    }

    /// One route's figures: the median of the rounds' rates and the latencies of that round.
    public struct Route: Sendable, Codable {
        public var path: String
        public var answerBytes: Int
        public var requestsPerSecond: Double
        public var p50Ms: Double
        public var p99Ms: Double
        /// Every round's rate, in order.
        public var rounds: [Double]
        /// The spoke's CPU time (user + system, all its threads) per request, in µs: the median
        /// of the rounds. On a shared machine a rate swings with the other work; this does less.
        public var cpuMicrosPerRequest: Double
    }

    public struct Report: Sendable, Codable {
        public var date: String
        public var paneBinary: String
        public var seconds: Int
        public var connections: Int
        public var tokens: Bool
        public var healthz: Route
        public var pointRead: Route
        public var list: Route
    }

    /// The context the point read asks for: its answer is about 234 bytes, as in issue 13.
    static let contextPath = "/v1/contexts/tenant%2Facme%2Fsettings"
    static let contextBody = #"{"plan":"enterprise","seats":250,"features":{"sso":true,"audit":true,"scim":false},"region":"eu-west-1","owner":"ops@acme.example","limits":{"rps":5000}}"#
    static let listPath = "/v1/contexts?prefix=tenant/acme/&limit=10"

    public func run(log: (String) -> Void) throws -> Report {
        let wrk = try Self.wrkBinary()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pane-reads-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let redis = try RedisServerProcess(directory: "\(dir)/redis")
        defer { redis.stop() }
        let tokens = try GeneratedTokens.create(at: "\(dir)/tokens")
        let tokenFlags = self.tokens ? ["--tokens-file", tokens.path] : []
        let read = self.tokens ? tokens.token(.read) : nil
        let hubPort = LocalPorts.free()
        let spokePort = LocalPorts.free()
        let hub = try ChildProcess(
            name: "hub", executable: paneBinary,
            arguments: [
                "hub", "--redis", redis.endpoint.description, "--regions", "reads", "--db", "\(dir)/hub.sqlite",
                "--http", "127.0.0.1:\(hubPort)", "--log-level", "warning",
            ] + tokenFlags, logPath: "\(dir)/hub.log")
        defer { _ = hub.stop() }
        let spoke = try ChildProcess(
            name: "spoke", executable: paneBinary,
            arguments: [
                "spoke", "--redis", redis.endpoint.description, "--region", "reads", "--replica", "a", "--db", "\(dir)/a.sqlite",
                "--http", "127.0.0.1:\(spokePort)", "--log-level", "warning",
            ] + tokenFlags, logPath: "\(dir)/spoke.log")
        defer { _ = spoke.stop() }
        try Self.waitFor("the hub's /healthz", child: hub) { try HTTPProbe(port: hubPort, timeoutMs: 500).get("/healthz").status == 200 }
        let writer = HTTPProbe(port: hubPort, token: self.tokens ? tokens.token(.write) : nil)
        defer { writer.close() }
        let put = try writer.request("PUT", Self.contextPath, body: Array(Self.contextBody.utf8))
        guard put.status == 200 else { throw LoadtestError.unreadableOutput("the hub's PUT", put.text) }
        for i in 0..<100 {
            _ = try writer.request("PUT", "/v1/contexts/tenant%2Facme%2Fitem-\(i)", body: Array("{\"i\":\(i)}".utf8))
        }
        try Self.waitFor("the spoke's copy of the contexts", child: spoke) {
            let probe = HTTPProbe(port: spokePort, timeoutMs: 500, token: read)
            return try probe.get(Self.contextPath).status == 200 && probe.get("/v1/contexts/tenant%2Facme%2Fitem-99").status == 200
        }
        let probe = HTTPProbe(port: spokePort, token: read)
        defer { probe.close() }
        let sizes = try [Self.contextPath, Self.listPath, "/healthz"].map { try probe.get($0).body.count }
        log("pane spoke on 127.0.0.1:\(spokePort) (\(paneBinary)); wrk -t1 -c\(connections) -d\(seconds)s, \(rounds) rounds, \(self.tokens ? "with a read token" : "without tokens")")

        var results: [String: [WrkResult]] = [:]
        let routes = ["/healthz", Self.contextPath, Self.listPath]
        for round in 1...rounds {
            for path in routes {
                let cpuBefore = ProcStat.cpuSeconds(pid: spoke.pid) ?? 0
                var result = try Self.runWrk(
                    wrk, url: "http://127.0.0.1:\(spokePort)\(path)", token: read, seconds: seconds, connections: connections)
                let cpu = (ProcStat.cpuSeconds(pid: spoke.pid) ?? 0) - cpuBefore
                result.cpuMicrosPerRequest = result.requests > 0 ? cpu * 1e6 / Double(result.requests) : 0
                results[path, default: []].append(result)
                log(
                    "round \(round) \(path.padding(toLength: 45, withPad: " ", startingAt: 0))"
                        + String(
                            format: " %9.0f req/s  p50 %.3f ms  p99 %.3f ms  spoke CPU %.1f µs/request", result.rate, result.p50Ms, result.p99Ms,
                            result.cpuMicrosPerRequest))
            }
        }
        guard spoke.isRunning else { throw LoadtestError.unreadableOutput("the spoke", "it exited during the run; see \(dir)/spoke.log") }
        func route(_ path: String, bytes: Int) -> Route {
            let all = results[path] ?? []
            let median = all.sorted { $0.rate < $1.rate }[all.count / 2]
            let cpu = all.map(\.cpuMicrosPerRequest).sorted()[all.count / 2]
            return Route(
                path: path, answerBytes: bytes, requestsPerSecond: median.rate, p50Ms: median.p50Ms, p99Ms: median.p99Ms, rounds: all.map(\.rate),
                cpuMicrosPerRequest: cpu)
        }
        return Report(
            date: ISO8601DateFormatter().string(from: Date()), paneBinary: paneBinary, seconds: seconds, connections: connections, tokens: self.tokens,
            healthz: route("/healthz", bytes: sizes[2]), pointRead: route(Self.contextPath, bytes: sizes[0]), list: route(Self.listPath, bytes: sizes[1]))
    }

    static func wrkBinary() throws -> String {
        guard let binary = ["/usr/bin/wrk", "/usr/local/bin/wrk"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw LoadtestError.toolMissing("wrk", package: "wrk")
        }
        return binary
    }

    static func waitFor(_ what: String, child: ChildProcess, seconds: Double = 30, _ check: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            guard child.isRunning else { throw LoadtestError.unreadableOutput(child.name, "it exited; see \(child.logPath)") }
            if (try? check()) == true { return }
            usleep(50_000)
        }
        throw LoadtestError.notAnswering(child.name, what: what, seconds: Int(seconds), log: child.logPath)
    }

    struct WrkResult: Sendable {
        var rate: Double
        var p50Ms: Double
        var p99Ms: Double
        /// `N requests in …`: the answers of the run.
        var requests: Int
        /// Filled in by the caller, which reads the spoke's CPU time around the run.
        var cpuMicrosPerRequest = 0.0
    }

    static func runWrk(_ binary: String, url: String, token: String?, seconds: Int, connections: Int) throws -> WrkResult {
        let arguments = ["-t1", "-c\(connections)", "-d\(seconds)s", "--latency"] + (token.map { ["-H", "Authorization: Bearer \($0)"] } ?? []) + [url]
        let text = try ExternalTool.output(binary, arguments)
        guard let result = parseWrk(text) else { throw LoadtestError.unreadableOutput("wrk", text) }
        return result
    }

    /// Reads wrk's `Requests/sec:` and the 50% and 99% lines of `--latency`; nil when a line is
    /// missing or some answers were not 2xx/3xx.
    static func parseWrk(_ text: String) -> WrkResult? {
        guard !text.contains("Non-2xx or 3xx responses") else { return nil }
        var rate: Double?
        var requests: Int?
        var percentiles: [String: Double] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.first == "Requests/sec:", fields.count >= 2 { rate = Double(fields[1]) }
            if fields.count >= 3, fields[1] == "requests", fields[2] == "in" { requests = Int(fields[0]) }
            if fields.count == 2, ["50%", "99%"].contains(fields[0]) { percentiles[String(fields[0])] = milliseconds(fields[1]) }
        }
        guard let rate, let requests, let p50 = percentiles["50%"], let p99 = percentiles["99%"] else { return nil }
        return WrkResult(rate: rate, p50Ms: p50, p99Ms: p99, requests: requests)
    }

    /// `612.00us`, `1.20ms`, `2.00s` in milliseconds.
    static func milliseconds(_ text: Substring) -> Double? {
        for (unit, scale) in [("us", 0.001), ("ms", 1.0), ("s", 1000.0)] where text.hasSuffix(unit) {
            return Double(text.dropLast(unit.count)).map { $0 * scale }
        }
        return nil
    }
}

extension ReadBenchmark.Report {
    /// The summary table: each route's rate and its share of `/healthz`'s, and the spoke's CPU
    /// per request with `/healthz`'s as a share of it (the rate share a CPU-bound spoke reaches).
    public var table: String {
        func row(_ name: String, _ route: ReadBenchmark.Route) -> String {
            let share = String(format: "%.1f%%", 100 * route.requestsPerSecond / healthz.requestsPerSecond)
            let cpuShare = route.cpuMicrosPerRequest > 0 ? String(format: "%.1f%%", 100 * healthz.cpuMicrosPerRequest / route.cpuMicrosPerRequest) : "-"
            let rounds = route.rounds.map { String(Int($0)) }.joined(separator: ", ")
            return "| \(name) | \(route.answerBytes) | \(Int(route.requestsPerSecond)) | \(share) | "
                + String(format: "%.3f | %.3f | %.1f", route.p50Ms, route.p99Ms, route.cpuMicrosPerRequest) + " | \(cpuShare) | \(rounds) |"
        }
        return """
            | route (wrk -t1 -c\(connections) -d\(seconds)s) | answer bytes | req/s (median) | of /healthz | p50 ms | p99 ms | spoke CPU µs/request | /healthz's CPU of it | rounds req/s |
            |---|---:|---:|---:|---:|---:|---:|---:|---|
            \(row("`GET /healthz`", healthz))
            \(row("`GET /v1/contexts/{id}`", pointRead))
            \(row("`GET /v1/contexts?prefix=&limit=10`", list))
            """
    }
}
