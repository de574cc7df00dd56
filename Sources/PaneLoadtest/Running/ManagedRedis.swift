import Foundation
import PaneApp
import PaneRedis

#if canImport(Glibc)
    import Glibc
#endif

/// The load test's private redis-server, with AOF `everysec`, that can be stopped and started
/// again on the same port and folder (``RedisServerProcess`` picks a new port on each start).
final class ManagedRedis: @unchecked Sendable {
    let endpoint: RedisEndpoint
    let directory: String
    private let binary: String
    private let lock = NSLock()
    private var child: ChildProcess?


    init(directory: String) throws {
        guard let binary = RedisServerProcess.findBinary() else {
            throw LoadtestError.toolMissing("redis-server", package: "redis-server")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.binary = binary
        self.directory = directory
        var started: (ChildProcess, Int)?
        for _ in 0..<5 {
            let port = LocalPorts.free()
            let child = try RedisServerProcess.launch(binary: binary, port: port, directory: directory, appendOnly: true)
            if RedisServerProcess.waitForPing(RedisEndpoint(host: "127.0.0.1", port: port), child: child, seconds: 10) {
                started = (child, port)
                break
            }
            ProcessControl.stop(child, signal: SIGKILL)
        }
        guard let started else { throw LoadtestError.notAnswering("redis-server", what: "PING", seconds: 5, log: "\(directory)/redis.log") }
        child = started.0
        endpoint = RedisEndpoint(host: "127.0.0.1", port: started.1)
    }

    /// The running server's pid, for resource sampling.
    var pid: Int32? { lock.withLock { child?.isRunning == true ? child?.pid : nil } }

    /// Stops the server with `SHUTDOWN` (Redis flushes the AOF before it exits), then SIGTERM.
    ///
    /// `SHUTDOWN` first because a child spawned from a Dispatch thread (as in the test runner)
    /// inherits that thread's signal mask, with SIGTERM blocked.
    func stop() {
        let current = lock.withLock { () -> ChildProcess? in
            defer { child = nil }
            return child
        }
        guard let current else { return }
        if let conn = try? RedisConnection(endpoint: endpoint, connectTimeoutMs: 500, readTimeoutMs: 30_000) {
            try? conn.shutdown()
            conn.close()
        }
        ProcessControl.stop(current, timeout: 30)
    }

    /// Starts the server again on the same port and folder; it reloads the AOF.
    func start() throws {
        for _ in 0..<40 {
            let child = try RedisServerProcess.launch(binary: binary, port: endpoint.port, directory: directory, appendOnly: true)
            if RedisServerProcess.waitForPing(endpoint, child: child, seconds: 10) {
                lock.withLock { self.child = child }
                return
            }
            ProcessControl.stop(child, signal: SIGKILL)
            usleep(250_000)  // the port may still be held by the old process's sockets
        }
        throw LoadtestError.notAnswering("redis-server", what: "PING on port \(endpoint.port) after a restart", seconds: 5, log: "\(directory)/redis.log")
    }
}
