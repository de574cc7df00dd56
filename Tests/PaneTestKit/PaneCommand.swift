import Foundation
import PaneApp
import PaneRuntime

/// Runs the `pane` binary to completion, off the cooperative pool (an admin resync waits for seconds).
public enum PaneCommand {
    public struct Run: Sendable {
        public let status: Int32
        /// stdout and stderr together.
        public let output: String
    }

    /// Runs `pane args…` with `environment` added to this process's, and waits for its exit.
    public static func run(_ args: [String], environment: [String: String] = [:]) async throws -> Run {
        try await BlockingThread.value(name: "test-pane") {
            let dir = try TestEnv.directory("cli")
            var env = ProcessInfo.processInfo.environment
            env.merge(environment) { $1 }
            let child = try ChildProcess(
                name: "pane", executable: try TestEnv.paneBinary(), arguments: args, logPath: "\(dir)/out.log", environment: env)
            child.process.waitUntilExit()
            return Run(status: child.process.terminationStatus, output: try String(contentsOfFile: child.logPath, encoding: .utf8))
        }
    }
}
