import Foundation
import Logging
import PaneCore
import PaneRedis

/// What a test run provides: the private redis-server that `ops/test.sh` starts, the `pane`
/// binary under test, fresh folders and regions no other test uses.
public enum TestEnv {
    /// The private Redis of this test run. Missing means the tests were not started by ops/test.sh.
    public static func redis() throws -> RedisEndpoint {
        guard let url = ProcessInfo.processInfo.environment["PANE_TEST_REDIS_URL"] else {
            throw TestFailure(
                "PANE_TEST_REDIS_URL is not set: run the tests with `bash ops/test.sh`, which starts a private redis-server")
        }
        return try RedisEndpoint(url: url)
    }

    /// The `--redis` flags that make a `pane` process in `dir` log in to `redis`: the URL without
    /// the password, and the password (when there is one) through `--redis-password-file`, a
    /// file of mode 0600 in `dir`, as operators are told to do.
    public static func redisArguments(_ redis: RedisEndpoint, dir: String) throws -> [String] {
        guard let password = redis.password else { return ["--redis", redis.description] }
        let path = "\(dir)/redis-password-\(redis.userName)-\(UUID().uuidString.prefix(6))"
        guard FileManager.default.createFile(atPath: path, contents: Data((password + "\n").utf8), attributes: [.posixPermissions: 0o600])
        else { throw TestFailure("cannot write \(path)") }
        return ["--redis", redis.urlWithoutPassword, "--redis-password-file", path]
    }

    public static func connection() throws -> RedisConnection {
        try RedisConnection(endpoint: redis())
    }

    /// The `pane` executable under test: `PANE_BIN`, else `.build/debug/pane`.
    public static func paneBinary() throws -> String {
        if let path = ProcessInfo.processInfo.environment["PANE_BIN"] { return path }
        let guess = FileManager.default.currentDirectoryPath + "/.build/debug/pane"
        guard FileManager.default.isExecutableFile(atPath: guess) else {
            throw TestFailure("pane binary not found: set PANE_BIN or run `bash ops/test.sh`")
        }
        return guess
    }

    /// The load-test scenarios shipped in `loadtest/scenarios`.
    public static var scenarioFolder: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../loadtest/scenarios")
            .standardized.path
    }

    /// Warnings and errors only, so a passing run stays quiet.
    public static let logger: Logger = {
        var logger = Logger(label: "pane.test")
        logger.logLevel = .warning
        return logger
    }()

    /// A fresh folder for one test's files.
    public static func directory(_ name: String) throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("pane-it-\(name)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A region name no other test uses, so parallel tests never share streams.
    public static func region(_ prefix: String) throws -> Region {
        try Region("t-\(prefix)-\(UUID().uuidString.prefix(8).lowercased())")
    }

    /// Deletes every key of `regions` (streams, replica hash, requests, snapshots), so the
    /// shared Redis does not fill up.
    public static func cleanUp(_ regions: [Region], redis: RedisEndpoint? = nil) {
        guard let conn = try? RedisConnection(endpoint: redis ?? TestEnv.redis()) else { return }
        for region in regions {
            let snapshots = (try? conn.keys(matching: region.keys.snapshots)) ?? []
            _ = try? conn.del(region.keys.all + snapshots)
        }
    }
}
