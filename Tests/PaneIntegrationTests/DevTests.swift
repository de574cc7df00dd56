import Foundation
import PaneApp
import PaneRedis
import PaneTestKit
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct DevTests {
    /// `pane dev` (the README's first command) brings up Redis, a hub and spokes, shows updates
    /// reaching every replica, and cleans everything up on SIGINT.
    @Test func devShowsUpdatesFlowingAndCleansUp() async throws {
        let dir = try TestEnv.directory("dev")
        let dev = try ChildProcess(
            name: "dev", executable: try TestEnv.paneBinary(), arguments: ["dev", "--regions", "2"], logPath: "\(dir)/dev.log")
        defer { dev.stop(signal: SIGKILL) }
        func log() -> String { (try? String(contentsOfFile: "\(dir)/dev.log", encoding: .utf8)) ?? "" }
        let flowing = await eventually(60, poll: 0.2) {
            log().contains("tick 2: hub wrote demo/clock v2 -> us-east-1/a v2, eu-west-1/a v2, eu-west-1/b v2")
        }
        #expect(flowing, "\(log().suffix(1_500))")
        #expect(log().contains("curl -s -X PUT"))
        // The hub and the spokes ask for the tokens of the file `pane dev` wrote.
        let hubPort = try #require(log().firstMatch(of: /Hub \(writes\):\s+http:\/\/127\.0\.0\.1:(\d+)/).flatMap { Int($0.1) })
        let spokePort = try #require(log().firstMatch(of: /\(reads\): http:\/\/127\.0\.0\.1:(\d+)/).flatMap { Int($0.1) })
        let tokensFile = try #require(log().firstMatch(of: /is in (\S+)\.\n/).map { String($0.1) })
        let lines = try String(contentsOfFile: tokensFile, encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ") }
        func token(_ role: String) -> String? { lines.first { $0.count == 2 && $0[0] == role }.map { String($0[1]) } }
        let write = try #require(token("write"))
        let read = try #require(token("read"))
        let put = { (token: String?) in
            try HTTPProbe(port: hubPort, token: token).request("PUT", "/v1/contexts/dev%2Fauth", body: Array("{}".utf8)).status
        }
        #expect(try put(nil) == 401)
        #expect(try put(read) == 403)
        #expect(try put(write) == 200)
        #expect(try HTTPProbe(port: spokePort).get("/v1/contexts/demo%2Fclock").status == 401)
        #expect(try HTTPProbe(port: spokePort, token: read).get("/v1/contexts/demo%2Fclock").status == 200)
        #expect(!log().contains(write) && !log().contains(read), "pane dev printed a token")
        let folder = try #require(log().firstMatch(of: /working folder (\S+)/).map { String($0.1) })
        #expect(dev.stop(signal: SIGINT, timeout: 20) == 0, "\(log().suffix(800))")
        #expect(log().contains("stopped redis-server and removed"))
        #expect(!FileManager.default.fileExists(atPath: folder))
    }

    /// `--port` fixes the ports, `--data` keeps the folder, the banner's admin commands work
    /// against the cluster, and SIGHUP stops everything cleanly (`stopping…`).
    @Test func devWithStablePortsAndKeptDataStopsOnSIGHUP() async throws {
        let dir = try TestEnv.directory("dev-data")
        let data = "\(dir)/data"
        let base = LocalPorts.freeRun(4)
        let dev = try ChildProcess(
            name: "dev", executable: try TestEnv.paneBinary(), arguments: ["dev", "--regions", "1", "--port", String(base), "--data", data],
            logPath: "\(dir)/dev.log")
        defer { dev.stop(signal: SIGKILL) }
        func log() -> String { (try? String(contentsOfFile: "\(dir)/dev.log", encoding: .utf8)) ?? "" }
        #expect(await eventually(60, poll: 0.2) { log().contains("tick 1:") }, "\(log().suffix(1_500))")
        #expect(log().contains("redis-server redis://127.0.0.1:\(base) "), "\(log())")
        #expect(log().contains("Hub (writes):  http://127.0.0.1:\(base + 1)"), "\(log())")
        #expect(log().contains("spoke us-east-1/a (reads): http://127.0.0.1:\(base + 2) "), "\(log())")
        // Each child runs in a process group of its own, so a terminal's Ctrl-C reaches pane dev alone.
        let spokePid = try #require(log().firstMatch(of: /\(reads\): \S+\s+pid (\d+)/).flatMap { Int32($0.1) })
        #expect(getpgid(spokePid) == spokePid && getpgid(spokePid) != getpgid(dev.pid))
        // The printed admin commands name this cluster's Redis and hub; run the status one as printed.
        let status = try #require(log().split(separator: "\n").first { $0.contains(" admin status --redis ") })
        let args = Array(status.split(separator: " ").dropFirst().map(String.init))
        #expect(args == ["admin", "status", "--redis", "redis://127.0.0.1:\(base)", "--redis-password-file", "\(data)/redis.password"])
        // The private Redis asks for the password: without it, a command is refused.
        let refused = try await PaneCommand.run(["admin", "status", "--redis", "redis://127.0.0.1:\(base)"])
        #expect(refused.status != 0 && refused.output.contains("NOAUTH"), "\(refused.output)")
        let run = try await PaneCommand.run(args)
        #expect(run.status == 0 && run.output.contains("us-east-1"), "\(run.output)")
        #expect(log().contains(
            "admin dlq replay --redis redis://127.0.0.1:\(base) --redis-password-file \(data)/redis.password --region us-east-1 --all "
                + "--hub 127.0.0.1:\(base + 1) --token-file \(data)/admin.token"))
        #expect(dev.stop(signal: SIGHUP, timeout: 30) == 0, "\(log().suffix(800))")
        #expect(log().contains("pane dev: stopping…"), "\(log().suffix(800))")
        #expect(log().contains("stopped 1 spokes"), "\(log().suffix(800))")
        #expect(FileManager.default.fileExists(atPath: "\(data)/hub.sqlite"), "--data keeps the folder")
        #expect(FileManager.default.fileExists(atPath: "\(data)/us-east-1-a.sqlite"))
        #expect((try? HTTPProbe(port: base + 2, timeoutMs: 500).get("/healthz")) == nil, "the spoke still answers")
    }

    /// `kill -9` of `pane dev` takes redis-server and the spokes with it (parent-death signal).
    @Test func devChildrenDieWithItEvenOnKillNine() async throws {
        let dir = try TestEnv.directory("dev-kill")
        let base = LocalPorts.freeRun(4)
        let dev = try ChildProcess(
            name: "dev", executable: try TestEnv.paneBinary(),
            arguments: ["dev", "--regions", "1", "--port", String(base), "--data", "\(dir)/data"], logPath: "\(dir)/dev.log")
        defer { dev.stop(signal: SIGKILL) }
        func log() -> String { (try? String(contentsOfFile: "\(dir)/dev.log", encoding: .utf8)) ?? "" }
        #expect(await eventually(60, poll: 0.2) { log().contains("tick 1:") }, "\(log().suffix(1_500))")
        #expect(try HTTPProbe(port: base + 2, timeoutMs: 1_000).get("/healthz").status == 200)
        dev.crash()
        let spokeGone = await eventually(10) { (try? HTTPProbe(port: base + 2, timeoutMs: 300).get("/healthz")) == nil }
        #expect(spokeGone, "the spoke outlived pane dev")
        let redisGone = await eventually(10) {
            (try? RedisConnection(endpoint: RedisEndpoint(host: "127.0.0.1", port: base), connectTimeoutMs: 200, readTimeoutMs: 500)) == nil
        }
        #expect(redisGone, "redis-server outlived pane dev")
    }

    /// A signal during start-up, before the banner, still stops everything and cleans up.
    @Test func devCleansUpWhenSignalledDuringStartUp() async throws {
        let dir = try TestEnv.directory("dev-early")
        let dev = try ChildProcess(
            name: "dev", executable: try TestEnv.paneBinary(), arguments: ["dev", "--regions", "3"], logPath: "\(dir)/dev.log")
        defer { dev.stop(signal: SIGKILL) }
        func log() -> String { (try? String(contentsOfFile: "\(dir)/dev.log", encoding: .utf8)) ?? "" }
        #expect(await eventually(30, poll: 0.01) { log().contains("pane dev: redis-server") }, "\(log())")
        let folder = try #require(log().firstMatch(of: /working folder (\S+)/).map { String($0.1) })
        #expect(dev.stop(signal: SIGTERM, timeout: 30) == 0, "\(log())")
        #expect(log().contains("pane dev: stopping…"), "\(log())")
        #expect(log().contains("stopped redis-server and removed"), "\(log())")
        #expect(!FileManager.default.fileExists(atPath: folder))
    }
}
