import Foundation
import PaneApp
import PaneCore
import PaneRedis

/// A `pane hub` process on a free port, its log in the test's folder.
public struct HubProcess: Sendable {
    public let child: ChildProcess
    public let port: Int
    public let db: String

    /// Starts `pane hub` for `regions` with its store at `db` (default `dir/hub.sqlite`), logging
    /// to `dir/<logName>` (default `hub.log`).
    public static func start(
        regions: [Region], dir: String, db: String? = nil, extra: [String] = [], environment: [String: String]? = nil,
        redis: RedisEndpoint? = nil, logName: String = "hub.log"
    ) throws -> HubProcess {
        let port = LocalPorts.free()
        let db = db ?? "\(dir)/hub.sqlite"
        let args =
            ["hub"] + (try TestEnv.redisArguments(redis ?? TestEnv.redis(), dir: dir)) + [
                "--regions", regions.map(\.name).joined(separator: ","), "--db", db, "--http", "127.0.0.1:\(port)",
            ]
        let child = try ChildProcess(
            name: "hub", executable: try TestEnv.paneBinary(), arguments: args + extra, logPath: "\(dir)/\(logName)",
            environment: environment)
        return HubProcess(child: child, port: port, db: db)
    }

    /// An HTTP client for the hub's API.
    public func probe() -> HTTPProbe { HTTPProbe(port: port) }

    /// Waits until `/healthz` answers 200.
    public func ready(seconds: Double = 20) async -> Bool {
        let probe = probe()
        return await eventually(seconds) { (try? probe.get("/healthz").status) == 200 }
    }

    public func log() -> String { (try? String(contentsOfFile: child.logPath, encoding: .utf8)) ?? "" }
}
