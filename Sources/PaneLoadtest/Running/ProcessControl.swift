import Foundation
import PaneApp

#if canImport(Glibc)
    import Glibc
#endif

/// Stops child processes without relying on `Process.isRunning` alone: inside some hosts (the
/// test runner) Foundation notices a child's exit late, so the exit is also read off `/proc`
/// (a zombie or a vanished pid has exited).
enum ProcessControl {
    /// Sends `signal`, waits up to `timeout` seconds for the exit, then SIGKILLs.
    static func stop(_ child: ChildProcess, signal: Int32 = SIGTERM, timeout: Double = 10) {
        let pid = child.pid
        guard hasLiveProcess(pid: pid, child: child) else { return }
        kill(pid, signal)
        let deadline = Date().addingTimeInterval(timeout)
        while hasLiveProcess(pid: pid, child: child) && Date() < deadline { usleep(5_000) }
        if hasLiveProcess(pid: pid, child: child) {
            kill(pid, SIGKILL)
            while hasLiveProcess(pid: pid, child: child) { usleep(5_000) }
        }
    }

    /// Whether `pid` is still a running (not zombie) process.
    static func hasLiveProcess(pid: Int32, child: ChildProcess) -> Bool {
        guard child.isRunning else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(after: close)...].split(separator: " ").first
        return state != "Z" && state != "X"
    }
}
