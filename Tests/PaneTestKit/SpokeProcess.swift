import Foundation
import PaneApp
import PaneCore
import PaneRedis

/// A `pane spoke` process, its log in the test's folder.
public struct SpokeProcess: Sendable {
    public let child: ChildProcess
    public let region: Region
    public let replica: String
    public let port: Int
    public let db: String

    /// Starts `pane spoke` for `replica` of `region` with its replica file at `db`, on a free port,
    /// logging at info to `dir/spoke-<region>-<replica>-<port>.log`; `redisCluster` (seed nodes)
    /// instead of `redis` for a Redis Cluster.
    public static func start(
        region: Region, replica: String, db: String, dir: String, consumer: String? = nil, extra: [String] = [],
        environment: [String: String] = [:], redis: RedisEndpoint? = nil, redisCluster: String? = nil
    ) throws -> SpokeProcess {
        let port = LocalPorts.free()
        let server = try redisCluster.map { ["--redis-cluster", $0] } ?? TestEnv.redisArguments(redis ?? TestEnv.redis(), dir: dir)
        var args =
            ["spoke"] + server + [
                "--region", region.name, "--replica", replica, "--db", db, "--http", "127.0.0.1:\(port)", "--log-level", "info",
                "--block-ms", "200",
            ]
        if let consumer { args += ["--consumer", consumer] }
        args += extra
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        let child = try ChildProcess(
            name: "spoke", executable: try TestEnv.paneBinary(), arguments: args,
            logPath: "\(dir)/spoke-\(region.name)-\(replica)-\(port).log", environment: env)
        return SpokeProcess(child: child, region: region, replica: replica, port: port, db: db)
    }

    /// An HTTP client for the spoke's read API.
    public func probe(timeoutMs: Int = 5_000) -> HTTPProbe { HTTPProbe(port: port, timeoutMs: timeoutMs) }

    public func log() -> String { (try? String(contentsOfFile: child.logPath, encoding: .utf8)) ?? "" }
}
