import Foundation
import Logging

/// The fault-injection hooks the tests use, in one place. Each is a `PANE_FAULT_*` environment
/// variable, read once, when the process first looks at them. They exist only for the tests:
/// never set them in production. docs/architecture.md ("Fault points") lists them with their exit
/// codes.
public struct FaultPoints: Sendable {
    /// The hooks of this process, from its environment.
    public static let active = FaultPoints(environment: ProcessInfo.processInfo.environment)

    /// `PANE_FAULT_EXIT_AFTER_XADDS=N`: once the hub's publisher has sent N XADDs, it waits until
    /// Redis has taken them all, then exits the process with ``ExitCode/afterXadds`` (86) before
    /// marking any outbox row, to prove that re-publishing after a crash duplicates nothing.
    public var exitAfterXadds: Int?
    /// `PANE_FAULT_STALL_AFTER_READ=1`: a spoke worker reads one batch, then hangs with it
    /// pending until the process is killed, so another worker must take it over.
    public var stallAfterRead: Bool
    /// `PANE_FAULT_EXIT_BEFORE_EXEC=1`: moving a dead letter, the spoke sends MULTI, XADD and
    /// XACK, then exits with ``ExitCode/beforeExec`` (87) before EXEC.
    public var exitBeforeExec: Bool
    /// `PANE_FAULT_EXIT_AFTER_EXEC=1`: the spoke exits with ``ExitCode/afterExec`` (88) right
    /// after a dead letter's EXEC.
    public var exitAfterExec: Bool
    /// `PANE_FAULT_SNAPSHOT_CHUNK_DELAY_MS=N`: a spoke pauses N ms after each snapshot chunk it
    /// applies, so a test can kill it in the middle of a resync.
    public var snapshotChunkDelayMs: Int?
    /// `PANE_FAULT_SNAPSHOT_WRITE_DELAY_MS=N`: the hub's resync worker pauses N ms after each
    /// snapshot chunk it writes to Redis, so a test can watch a replica apply a streamed
    /// snapshot while the hub still writes it, or kill the hub in the middle.
    public var snapshotWriteDelayMs: Int?
    /// `PANE_FAULT_FAIL_LOOP=LOOP[:MS]`: the loop named (``Loop``) throws an ``InjectedFault``,
    /// which no retry can fix, MS milliseconds (default 0) after it started. The process then
    /// stops its other services and exits 1, naming the loop.
    public var failLoop: (loop: Loop, afterMs: Int)?
    /// `PANE_FAULT_HANG_ON_STOP=LOOP`: the loop named (``Loop``) never returns once it is told to
    /// stop, as a service that misses its cancellation would, so a test can prove the process
    /// still exits when another service failed (``ExitDeadline`` in PaneApp).
    public var hangOnStop: Loop?

    /// The loops ``failLoop`` can name.
    public enum Loop: String, Sendable, CaseIterable {
        /// The hub's publisher.
        case publisher
        /// The hub's resync worker (snapshots and anti-entropy).
        case resync
        /// The hub's retention worker.
        case retention
        /// A spoke's worker.
        case worker
    }

    /// The exit codes of the hooks that end the process.
    public enum ExitCode: Int32, Sendable {
        /// ``FaultPoints/exitAfterXadds``.
        case afterXadds = 86
        /// ``FaultPoints/exitBeforeExec``.
        case beforeExec = 87
        /// ``FaultPoints/exitAfterExec``.
        case afterExec = 88
    }

    /// No hook set.
    public init() {
        stallAfterRead = false
        exitBeforeExec = false
        exitAfterExec = false
    }

    /// The hooks `environment` sets. Values that do not parse leave their hook off.
    public init(environment: [String: String]) {
        exitAfterXadds = environment["PANE_FAULT_EXIT_AFTER_XADDS"].flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil }
        stallAfterRead = environment["PANE_FAULT_STALL_AFTER_READ"] == "1"
        exitBeforeExec = environment["PANE_FAULT_EXIT_BEFORE_EXEC"] == "1"
        exitAfterExec = environment["PANE_FAULT_EXIT_AFTER_EXEC"] == "1"
        snapshotChunkDelayMs = environment["PANE_FAULT_SNAPSHOT_CHUNK_DELAY_MS"].flatMap { Int($0) }
        snapshotWriteDelayMs = environment["PANE_FAULT_SNAPSHOT_WRITE_DELAY_MS"].flatMap { Int($0) }
        hangOnStop = environment["PANE_FAULT_HANG_ON_STOP"].flatMap { Loop(rawValue: $0) }
        if let value = environment["PANE_FAULT_FAIL_LOOP"] {
            let parts = value.split(separator: ":", maxSplits: 1).map(String.init)
            if let name = parts.first, let loop = Loop(rawValue: name) {
                let afterMs = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
                failLoop = (loop, max(0, afterMs))
            }
        }
    }

    /// Throws the injected failure when ``failLoop`` names `loop` and its delay has passed
    /// since `started`.
    public func failIfDue(_ loop: Loop, started: ContinuousClock.Instant) throws(InjectedFault) {
        guard let failLoop, failLoop.loop == loop, ContinuousClock.now - started >= .milliseconds(failLoop.afterMs) else { return }
        throw InjectedFault(loop: loop)
    }

    /// Blocks the calling thread for good when ``hangOnStop`` names `loop`.
    public func hangIfDue(_ loop: Loop) {
        guard hangOnStop == loop else { return }
        while true { Thread.sleep(forTimeInterval: 3600) }
    }

    /// Ends the process at a hook, with its exit code, after a critical log line.
    public static func exit(_ code: ExitCode, logger: Logger, _ message: String, metadata: Logger.Metadata = [:]) -> Never {
        logger.critical("test hook: \(message)", metadata: metadata)
        Foundation.exit(code.rawValue)
    }
}

/// The failure ``FaultPoints/failLoop`` injects: fatal, so the loop stops at once.
public struct InjectedFault: ClassifiedError, CustomStringConvertible {
    public let loop: FaultPoints.Loop

    public init(loop: FaultPoints.Loop) {
        self.loop = loop
    }

    public var failureKind: FailureKind { .fatal }
    public var description: String { "injected failure (PANE_FAULT_FAIL_LOOP=\(loop.rawValue))" }
}
