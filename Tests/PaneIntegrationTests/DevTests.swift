import Foundation
import PaneApp
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
}
