/// What stopped a load-test run or a benchmark, worded so the operator knows where to look.
public struct LoadtestError: Error, Sendable, CustomStringConvertible {
    public let description: String

    private init(_ description: String) { self.description = description }

    /// A process the runner started has exited; its log says why.
    public static func processExited(_ name: String, log: String) -> LoadtestError {
        LoadtestError("\(name) exited; see \(log)")
    }

    /// A process the runner started did not become healthy in time.
    public static func notAnswering(_ name: String, what: String, seconds: Int, log: String) -> LoadtestError {
        LoadtestError("\(name) did not answer \(what) within \(seconds) s; see \(log)")
    }

    /// A tool from Debian's packages is not installed.
    public static func toolMissing(_ tool: String, package: String) -> LoadtestError {
        LoadtestError("\(tool) not found. Install it with: apt-get update && apt-get install -y \(package)")
    }

    /// A tool ran, but its output could not be read.
    public static func unreadableOutput(_ tool: String, _ text: String) -> LoadtestError {
        LoadtestError("could not read \(tool)'s output: \(text.prefix(300))")
    }

    /// SQLite refused a baseline's statement or file.
    public static func sqlite(_ message: String) -> LoadtestError {
        LoadtestError("sqlite: \(message)")
    }

    /// Something the run waits for did not happen in time.
    public static func timedOut(_ what: String) -> LoadtestError {
        LoadtestError(what)
    }
}
