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
        let folder = try #require(log().firstMatch(of: /working folder (\S+)/).map { String($0.1) })
        #expect(dev.stop(signal: SIGINT, timeout: 20) == 0, "\(log().suffix(800))")
        #expect(log().contains("stopped redis-server and removed"))
        #expect(!FileManager.default.fileExists(atPath: folder))
    }
}
