import Foundation
import PaneRedis

/// A private `redis-server` on a free loopback port, with its files in its own folder.
public final class RedisServerProcess: Sendable {
    public let endpoint: RedisEndpoint
    public let directory: String
    let child: ChildProcess

    /// Finds Debian's `redis-server` and starts it; `appendOnly` turns on AOF `everysec`.
    /// `port` fixes the port (default: a free one, tried up to five times); `diesWithParent`
    /// as for ``ChildProcess``. `extraArguments` go to `redis-server` last (`--aclfile PATH`);
    /// `user` and `password` are how the start check, and ``endpoint``, log in.
    public init(
        directory: String, appendOnly: Bool = false, port fixedPort: Int? = nil, diesWithParent: Bool = false,
        extraArguments: [String] = [], user: String? = nil, password: String? = nil
    ) throws {
        guard let binary = Self.findBinary() else {
            throw RedisServerError(
                "redis-server not found. Install it with: apt-get update && apt-get install -y redis-server")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.directory = directory
        var lastError: (any Error)?
        for _ in 0..<(fixedPort == nil ? 5 : 1) {
            let port = fixedPort ?? LocalPorts.free()
            let child = try Self.launch(
                binary: binary, port: port, directory: directory, appendOnly: appendOnly, diesWithParent: diesWithParent,
                extraArguments: extraArguments)
            let endpoint = RedisEndpoint(host: "127.0.0.1", port: port, user: user, password: password)
            if Self.waitForPing(endpoint, child: child) {
                self.endpoint = endpoint
                self.child = child
                return
            }
            child.stop(signal: SIGKILL)
            lastError = RedisServerError("redis-server did not answer on port \(port); see \(directory)/redis.log")
        }
        throw lastError ?? RedisServerError("redis-server did not start")
    }

    public static func findBinary() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") + ["/usr/bin", "/usr/local/bin", "/usr/sbin"] {
            let candidate = "\(dir)/redis-server"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Starts `redis-server` on loopback `port`, its files (and AOF, with `appendOnly`, fsync
    /// `everysec`) in `directory`, its log in `directory/redis.log`. Does not wait for it.
    /// `extraArguments` are appended (cluster mode, for ``RedisClusterProcess``).
    public static func launch(
        binary: String, port: Int, directory: String, appendOnly: Bool, diesWithParent: Bool = false, extraArguments: [String] = []
    ) throws -> ChildProcess {
        var args = [
            "--port", String(port), "--bind", "127.0.0.1", "--dir", directory, "--save", "",
            "--daemonize", "no", "--protected-mode", "yes", "--logfile", "",
        ]
        args += appendOnly ? ["--appendonly", "yes", "--appendfsync", "everysec"] : ["--appendonly", "no"]
        args += extraArguments
        return try ChildProcess(
            name: "redis", executable: binary, arguments: args, logPath: "\(directory)/redis.log", diesWithParent: diesWithParent)
    }

    /// Waits up to `seconds` for the server to answer PING; false when it exited or never answered.
    public static func waitForPing(_ endpoint: RedisEndpoint, child: ChildProcess, seconds: Double = 5) -> Bool {
        for _ in 0..<Int(seconds / 0.025) {
            if !child.isRunning { return false }
            if let conn = try? RedisConnection(endpoint: endpoint, connectTimeoutMs: 200, readTimeoutMs: 1_000),
                (try? conn.ping()) != nil
            {
                return true
            }
            usleep(25_000)
        }
        return false
    }

    public var pid: Int32 { child.pid }

    /// Stops the server (SIGTERM, then SIGKILL).
    public func stop() { child.stop() }

    /// `kill -9`: what a crash looks like.
    public func crash() { child.crash() }

    struct RedisServerError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
