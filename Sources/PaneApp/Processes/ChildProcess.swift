import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process started by `pane dev`, the load-test runner or a test, with its output in a log file.
public final class ChildProcess: Sendable {
    public let name: String
    public let process: Process
    public let logPath: String

    /// Starts `executable arguments…`, appending stdout and stderr to `logPath`.
    ///
    /// With `diesWithParent`, the child gets SIGKILL when this process dies, even by `kill -9`
    /// (`PR_SET_PDEATHSIG`). Foundation's `Process` runs no code in the child before `exec`,
    /// so the child is started through util-linux's `setpriv --pdeathsig KILL --`, which sets
    /// it and then execs the executable in the same process (the pid stays the child's).
    /// The signal follows the thread that started the child: start such children from a thread
    /// that lives as long as the process (an event loop, the main thread), not a short-lived one.
    /// Without `setpriv` the child starts without it.
    public init(
        name: String, executable: String, arguments: [String], logPath: String, environment: [String: String]? = nil,
        diesWithParent: Bool = false
    ) throws {
        self.name = name
        self.logPath = logPath
        if !FileManager.default.fileExists(atPath: logPath) {
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process = Process()
        if diesWithParent, let setpriv = Self.setpriv {
            process.executableURL = URL(fileURLWithPath: setpriv)
            process.arguments = ["--pdeathsig", "KILL", "--", executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        if let environment { process.environment = environment }
        try process.run()
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// Sends `signal` (SIGTERM by default) and waits up to `timeout` seconds, then SIGKILLs.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, timeout: Double = 10) -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    /// `kill -9`, then waits for the exit.
    public func crash() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// util-linux's `setpriv`, which can set the parent-death signal before it execs.
    static let setpriv: String? = ["/usr/bin/setpriv", "/bin/setpriv"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// The path of the running executable, for starting more of ourselves.
    public static func currentExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
