import Foundation
import PaneApp

#if canImport(Glibc)
    import Glibc
#endif

/// One `pane spoke` worker process of the load test, restartable under the same consumer name.
final class WorkerHandle: @unchecked Sendable {
    let region: String
    let replica: String
    let index: Int
    let consumer: String
    let httpPort: Int
    let databasePath: String
    let latencyLogPath: String
    let logPath: String
    let arguments: [String]
    private let lock = NSLock()
    private var child: ChildProcess?

    init(region: String, replica: String, index: Int, arguments: [String], httpPort: Int, databasePath: String, latencyLogPath: String, logPath: String) {
        self.region = region
        self.replica = replica
        self.index = index
        self.consumer = "\(region)-\(replica)-w\(index)"
        self.arguments = arguments
        self.httpPort = httpPort
        self.databasePath = databasePath
        self.latencyLogPath = latencyLogPath
        self.logPath = logPath
    }

    /// `region/replica`.
    var label: String { "\(region)/\(replica)" }
    /// The process name in reports.
    var name: String { "spoke-\(region)-\(replica)-\(index)" }

    var pid: Int32? { lock.withLock { child?.isRunning == true ? child?.pid : nil } }
    var isRunning: Bool { lock.withLock { child?.isRunning ?? false } }
    /// Whether the worker is meant to be running (a fault may have stopped it on purpose).
    var wanted: Bool { lock.withLock { child != nil } }

    func start(binary: String) throws {
        let child = try ChildProcess(name: name, executable: binary, arguments: arguments, logPath: logPath)
        lock.withLock { self.child = child }
    }

    /// `kill -9`.
    func crash() {
        let current = lock.withLock { () -> ChildProcess? in
            defer { child = nil }
            return child
        }
        current.map { ProcessControl.stop($0, signal: SIGKILL) }
    }

    /// SIGTERM: the batch in progress is applied and acked first.
    func stop() {
        let current = lock.withLock { () -> ChildProcess? in
            defer { child = nil }
            return child
        }
        current.map { ProcessControl.stop($0) }
    }
}
