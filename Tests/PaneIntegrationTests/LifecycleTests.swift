import Foundation
import PaneApp
import PaneCore
import PaneRuntime
import PaneTestKit
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 9, item 1: `pane hub` and `pane spoke` fail loudly. A service that cannot start or
/// stops on its own ends the process within 5 s, exit code 1, with one line naming what failed;
/// SIGTERM still shuts down gracefully with exit code 0. Real processes, each test with its own
/// regions, files and ports.
@Suite struct LifecycleTests {
    /// How a `pane` process ended.
    struct Ending {
        let status: Int32
        let seconds: Double
        let log: String

        /// The line that says why the process stopped: its one `pane: ` line. (Libraries may
        /// still log while the other services stop, e.g. Hummingbird's "Server shutdown error:
        /// Already closed" when cancellation and shutdown meet; those lines are not ours.)
        var stopLine: String {
            let ours = log.split(separator: "\n").filter { $0.hasPrefix("pane: ") }
            return ours.count == 1 ? String(ours[0]) : "\(ours.count) lines start with 'pane: '"
        }
    }

    /// Starts `pane args…` and waits up to `seconds` for it to exit on its own; a process still
    /// running then is killed and reported with status -1.
    /// On a thread of its own: the wait must not hold one of the cooperative pool's two threads,
    /// which other tests' in-process hubs need to start their loops.
    static func run(_ args: [String], dir: String, environment: [String: String] = [:], seconds: Double = 15) async throws -> Ending {
        try await BlockingThread.value(name: "test-lifecycle") {
            try runBlocking(args, dir: dir, environment: environment, seconds: seconds)
        }
    }

    static func runBlocking(_ args: [String], dir: String, environment: [String: String], seconds: Double) throws -> Ending {
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        let logPath = "\(dir)/\(args[0])-\(UUID().uuidString.prefix(8)).log"
        let started = Date()
        let child = try ChildProcess(name: args[0], executable: try TestEnv.paneBinary(), arguments: args, logPath: logPath, environment: env)
        while child.isRunning && Date().timeIntervalSince(started) < seconds { usleep(10_000) }
        let elapsed = Date().timeIntervalSince(started)
        let status = child.isRunning ? -1 : child.process.terminationStatus
        if child.isRunning { child.crash() }
        return Ending(status: status, seconds: elapsed, log: (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")
    }

    /// The arguments of `pane hub` or `pane spoke` on its own region, files and port.
    static func arguments(role: String, region: Region, dir: String, db: String? = nil, port: Int) throws -> [String] {
        let redis = try TestEnv.redis().description
        let http = "127.0.0.1:\(port)"
        switch role {
        case "hub":
            return ["hub", "--redis", redis, "--regions", region.name, "--db", db ?? "\(dir)/hub.sqlite", "--http", http, "--log-level", "info"]
        default:
            return [
                "spoke", "--redis", redis, "--region", region.name, "--replica", "a", "--db", db ?? "\(dir)/replica.sqlite", "--http", http,
                "--log-level", "info", "--block-ms", "200",
            ]
        }
    }

    @Test(arguments: ["hub", "spoke"])
    func busyPortEndsTheProcessNamingTheAddress(role: String) async throws {
        let dir = try TestEnv.directory("busy-\(role)")
        let region = try TestEnv.region("busy\(role)")
        defer { TestEnv.cleanUp([region]) }
        let held = try HeldPort()
        defer { held.close() }
        let ending = try await Self.run(try Self.arguments(role: role, region: region, dir: dir, port: held.port), dir: dir)
        #expect(ending.status == 1, "\(ending.log.suffix(800))")
        #expect(ending.seconds < 5)
        #expect(ending.stopLine == "pane: cannot listen on 127.0.0.1:\(held.port): address already in use", "\(ending.log.suffix(800))")
    }

    @Test(arguments: [("hub", "hub"), ("spoke", "replica")])
    func unopenableDatabaseEndsTheProcessNamingThePath(role: String, database: String) async throws {
        let dir = try TestEnv.directory("nodb-\(role)")
        let region = try TestEnv.region("nodb\(role)")
        defer { TestEnv.cleanUp([region]) }
        let db = "\(dir)/no/such/dir/\(role).sqlite"
        let ending = try await Self.run(try Self.arguments(role: role, region: region, dir: dir, db: db, port: LocalPorts.free()), dir: dir)
        #expect(ending.status == 1, "\(ending.log.suffix(800))")
        #expect(ending.seconds < 5)
        #expect(ending.stopLine == "pane: cannot open the \(database) database \(db): unable to open database file", "\(ending.log.suffix(800))")
    }

    /// `PANE_FAULT_FAIL_LOOP`: the loop throws an error no retry fixes. The others stop (the HTTP
    /// server too, which was listening by then when the fault waits 1 s) and the process names
    /// the loop. Retention checks at its first round, so it fails at once.
    @Test(arguments: [
        ("hub", "publisher:1000", "publisher"), ("hub", "resync:1000", "resync worker"), ("hub", "retention", "retention worker"),
        ("spoke", "worker:1000", "worker"),
    ])
    func failingLoopEndsTheProcessNamingTheLoop(role: String, fault: String, loop: String) async throws {
        let dir = try TestEnv.directory("fail-\(role)")
        let region = try TestEnv.region("fail\(role)")
        defer { TestEnv.cleanUp([region]) }
        let port = LocalPorts.free()
        let ending = try await Self.run(
            try Self.arguments(role: role, region: region, dir: dir, port: port), dir: dir, environment: ["PANE_FAULT_FAIL_LOOP": fault])
        let delay = fault.hasSuffix(":1000") ? 1.0 : 0
        #expect(ending.status == 1, "\(ending.log.suffix(800))")
        #expect(ending.seconds < delay + 5)
        let name = fault.split(separator: ":")[0]
        #expect(ending.stopLine == "pane: the \(loop) stopped: injected failure (PANE_FAULT_FAIL_LOOP=\(name))", "\(ending.log.suffix(800))")
        if delay > 0 {
            #expect(ending.log.contains("listening on 127.0.0.1:\(port)"), "the HTTP server never started: \(ending.log.suffix(800))")
        }
    }

    /// A service that never stops once cancelled (`PANE_FAULT_HANG_ON_STOP`: the publisher) does
    /// not keep a failed process alive: the exit deadline prints the failure's line and exits 1.
    @Test func aServiceThatDoesNotStopStillEndsAFailedProcess() async throws {
        let dir = try TestEnv.directory("hang-hub")
        let region = try TestEnv.region("hanghub")
        defer { TestEnv.cleanUp([region]) }
        let ending = try await Self.run(
            try Self.arguments(role: "hub", region: region, dir: dir, port: LocalPorts.free()), dir: dir,
            environment: ["PANE_FAULT_FAIL_LOOP": "retention", "PANE_FAULT_HANG_ON_STOP": "publisher"])
        #expect(ending.status == 1, "\(ending.log.suffix(800))")
        #expect(ending.seconds < 8)
        #expect(ending.stopLine == "pane: the retention worker stopped: injected failure (PANE_FAULT_FAIL_LOOP=retention)", "\(ending.log.suffix(800))")
        #expect(ending.log.contains("services did not stop within 4.0 s after a failure; exiting"), "\(ending.log.suffix(800))")
    }

    /// The graceful path is unchanged: SIGTERM after start, every service finishes, exit 0.
    @Test(arguments: ["hub", "spoke"])
    func sigtermStillExitsZero(role: String) async throws {
        let dir = try TestEnv.directory("term-\(role)")
        let region = try TestEnv.region("term\(role)")
        defer { TestEnv.cleanUp([region]) }
        let port = LocalPorts.free()
        let child = try ChildProcess(
            name: role, executable: try TestEnv.paneBinary(), arguments: try Self.arguments(role: role, region: region, dir: dir, port: port),
            logPath: "\(dir)/\(role).log")
        defer { if child.isRunning { child.crash() } }
        let up = await eventually(15) {
            guard child.isRunning else { return true }
            return (try? HTTPProbe(port: port, timeoutMs: 500).get("/healthz").status) == 200
        }
        #expect(up && child.isRunning, "\((try? String(contentsOfFile: child.logPath, encoding: .utf8))?.suffix(800) ?? "")")
        let started = Date()
        let status = child.stop(signal: SIGTERM, timeout: 10)
        #expect(status == 0)
        #expect(Date().timeIntervalSince(started) < 5)
        let log = try String(contentsOfFile: child.logPath, encoding: .utf8)
        #expect(!log.contains("pane: "), "\(log.suffix(800))")
    }
}

/// The pure rule behind a loop giving up (``FailureStreak``), and the parsing of the fault points.
@Suite struct FailureRuleTests {
    struct Flaky: ClassifiedError {
        let failureKind: FailureKind
    }

    @Test func transientFailuresNeverStopALoop() {
        var streak = FailureStreak()
        for _ in 0..<1_000 { #expect(streak.record(.transient) == .retry) }
        #expect(streak.count == 0)
    }

    @Test func anUnusableStoreStopsAtTheFifthFailureInARow() {
        var streak = FailureStreak()
        for _ in 0..<4 { #expect(streak.record(.unusableStore) == .retry) }
        #expect(streak.record(.unusableStore) == .stop)
    }

    @Test func unexpectedErrorsStopAtTheTenthInARow() {
        var streak = FailureStreak()
        for _ in 0..<9 { #expect(streak.record(.unexpected) == .retry) }
        #expect(streak.record(.unexpected) == .stop)
    }

    @Test func aFatalErrorStopsAtOnce() {
        var streak = FailureStreak()
        #expect(streak.record(.fatal) == .stop)
    }

    @Test func aSuccessStartsTheCountAgain() {
        var streak = FailureStreak()
        for _ in 0..<4 { _ = streak.record(.unusableStore) }
        streak.succeeded()
        for _ in 0..<4 { #expect(streak.record(.unusableStore) == .retry) }
        // Transient failures in between neither count nor reset.
        #expect(streak.record(.transient) == .retry)
        #expect(streak.record(.unusableStore) == .stop)
    }

    @Test func recordingAnErrorThrowsItWrappedWhenTheLoopMustStop() {
        var streak = FailureStreak(limits: .init(unusableStore: 2, unexpected: 3))
        #expect(throws: Never.self) { try streak.record(Flaky(failureKind: .unusableStore)) }
        do {
            try streak.record(Flaky(failureKind: .unusableStore))
            Issue.record("the second unusable-store failure should stop the loop")
        } catch {
            #expect(error.failures == 2)
            #expect(error.kind == .unusableStore)
        }
        struct Plain: Error {}
        #expect(FailureKind(of: Plain()) == .unexpected)
    }

    @Test func faultPointsAreReadFromTheEnvironment() {
        let none = FaultPoints(environment: [:])
        #expect(none.exitAfterXadds == nil && !none.stallAfterRead && !none.exitBeforeExec && !none.exitAfterExec)
        #expect(none.snapshotChunkDelayMs == nil && none.failLoop == nil)
        let set = FaultPoints(environment: [
            "PANE_FAULT_EXIT_AFTER_XADDS": "700", "PANE_FAULT_STALL_AFTER_READ": "1", "PANE_FAULT_EXIT_BEFORE_EXEC": "1",
            "PANE_FAULT_EXIT_AFTER_EXEC": "1", "PANE_FAULT_SNAPSHOT_CHUNK_DELAY_MS": "300", "PANE_FAULT_FAIL_LOOP": "worker:250",
        ])
        #expect(set.exitAfterXadds == 700 && set.stallAfterRead && set.exitBeforeExec && set.exitAfterExec)
        #expect(set.snapshotChunkDelayMs == 300)
        #expect(set.failLoop?.loop == .worker && set.failLoop?.afterMs == 250)
        #expect(FaultPoints(environment: ["PANE_FAULT_FAIL_LOOP": "nothing"]).failLoop == nil)
        #expect(FaultPoints.ExitCode.afterXadds.rawValue == 86)
        #expect(FaultPoints.ExitCode.beforeExec.rawValue == 87)
        #expect(FaultPoints.ExitCode.afterExec.rawValue == 88)
    }

    @Test func anInjectedFaultIsThrownOnlyForItsLoop() throws {
        let faults = FaultPoints(environment: ["PANE_FAULT_FAIL_LOOP": "resync"])
        let now = ContinuousClock.now
        #expect(throws: Never.self) { try faults.failIfDue(.publisher, started: now) }
        #expect(throws: InjectedFault.self) { try faults.failIfDue(.resync, started: now) }
        let later = FaultPoints(environment: ["PANE_FAULT_FAIL_LOOP": "resync:60000"])
        #expect(throws: Never.self) { try later.failIfDue(.resync, started: now) }
    }

    @Test func messagesNameWhatFailed() {
        struct Reason: Error, CustomStringConvertible { var description: String { "it broke" } }
        let exhausted = RetriesExhausted(underlying: Reason(), kind: .unexpected, failures: 10)
        #expect(FailureMessage.line(for: LoopFailure(loop: "publisher", underlying: exhausted)) == "the publisher stopped: it broke (10 failures in a row)")
        let once = RetriesExhausted(underlying: InjectedFault(loop: .worker), kind: .fatal, failures: 1)
        #expect(FailureMessage.line(for: LoopFailure(loop: "worker", underlying: once)) == "the worker stopped: injected failure (PANE_FAULT_FAIL_LOOP=worker)")
    }
}

/// A listening socket on a free loopback port, held until closed: another process cannot bind it.
final class HeldPort {
    let port: Int
    private var fd: Int32

    init() throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let fd = self.fd
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { ptr in
                bind(fd, ptr, len) == 0 && listen(fd, 1) == 0 && getsockname(fd, ptr, &len) == 0
            }
        }
        guard fd >= 0, ok else { throw TestFailure("could not hold a loopback port: errno \(errno)") }
        port = Int(UInt16(bigEndian: addr.sin_port))
    }

    func close() {
        guard fd >= 0 else { return }
        _ = Glibc.close(fd)
        fd = -1
    }

    deinit { close() }
}
