import Foundation
import PaneApp
import PaneRuntime
import PaneTestKit
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Running under systemd: `Type=notify` readiness by hand, and the unit files of `ops/systemd`.
@Suite struct SystemdTests {
    /// A unix datagram socket bound where `NOTIFY_SOCKET` will point, as systemd binds it.
    final class NotifySocket: @unchecked Sendable {
        let path: String
        let fd: Int32

        init(path: String) throws {
            self.path = path
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard fd >= 0, bound == 0 else { throw TestFailure("cannot bind \(path): errno \(errno)") }
            var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit {
            close(fd)
            unlink(path)
        }

        /// The datagrams received within `seconds`, until one contains `line`.
        func wait(for line: String, seconds: Double) async throws -> [String] {
            try await BlockingThread.value(name: "test-notify") {
                var messages: [String] = []
                let deadline = Date().addingTimeInterval(seconds)
                var buffer = [UInt8](repeating: 0, count: 4096)
                while Date() < deadline {
                    let count = recv(self.fd, &buffer, buffer.count, 0)
                    guard count > 0 else { continue }
                    let message = String(decoding: buffer[..<count], as: UTF8.self)
                    messages.append(message)
                    if message.split(separator: "\n").contains(Substring(line)) { break }
                }
                return messages
            }
        }
    }

    @Test func theHubTellsSystemdWhenItIsReadyAndWhenItStops() async throws {
        let dir = try TestEnv.directory("notify")
        let region = try TestEnv.region("notify")
        defer { TestEnv.cleanUp([region]) }
        let notify = try NotifySocket(path: "\(dir)/notify.sock")
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = notify.path
        let hub = try HubProcess.start(regions: [region], dir: dir, environment: environment)
        defer { hub.child.stop(signal: SIGKILL) }
        let ready = try await notify.wait(for: "READY=1", seconds: 30)
        #expect(ready.last?.split(separator: "\n").contains("READY=1") == true, "\(ready) \(hub.log())")
        // READY=1 comes once the HTTP server answers.
        #expect(try hub.probe().get("/healthz").status == 200)
        kill(hub.child.pid, SIGTERM)
        let stopping = try await notify.wait(for: "STOPPING=1", seconds: 30)
        #expect(stopping.last == "STOPPING=1", "\(stopping) \(hub.log())")
        #expect(hub.child.stop(timeout: 20) == 0, "\(hub.log())")
    }

    @Test func aSpokeTellsSystemdWhenItIsReady() async throws {
        let dir = try TestEnv.directory("notify-spoke")
        let region = try TestEnv.region("notify")
        defer { TestEnv.cleanUp([region]) }
        let notify = try NotifySocket(path: "\(dir)/notify.sock")
        let spoke = try SpokeProcess.start(region: region, replica: "a", db: "\(dir)/a.sqlite", dir: dir, environment: ["NOTIFY_SOCKET": notify.path])
        defer { spoke.child.stop(signal: SIGKILL) }
        let ready = try await notify.wait(for: "READY=1", seconds: 30)
        #expect(ready.last?.split(separator: "\n").contains("READY=1") == true, "\(ready) \(spoke.log())")
        #expect(try spoke.probe().get("/healthz").status == 200)
        #expect(spoke.child.stop(timeout: 20) == 0, "\(spoke.log())")
        let stopping = try await notify.wait(for: "STOPPING=1", seconds: 5)
        #expect(stopping.last == "STOPPING=1", "\(stopping)")
    }

    @Test func withoutNotifySocketNothingIsSent() {
        #expect(SystemdNotify.send("READY=1", environment: [:]) == false)
        #expect(SystemdNotify.send("READY=1", environment: ["NOTIFY_SOCKET": "/nonexistent/notify.sock"]) == false)
    }

    @Test func anAbstractSocketNameIsReached() async throws {
        let name = "pane-test-\(UUID().uuidString.prefix(8))"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = [UInt8(0)] + Array(name.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        #expect(bound == 0)
        #expect(SystemdNotify.send("READY=1", environment: ["NOTIFY_SOCKET": "@\(name)"]))
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        #expect(count == 7 && String(decoding: buffer[..<max(count, 0)], as: UTF8.self) == "READY=1")
    }

    static var unitFolder: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../ops/systemd").standardized.path
    }

    static let analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first(where: FileManager.default.isExecutableFile)

    /// `systemd-analyze verify` accepts both units without a word (it exits 0 even on some
    /// mistakes, so its output must be empty too), with ExecStart pointing at the binary
    /// under test. `ops/lib.sh` installs it (Debian's `systemd`); skipped, with the reason, without it.
    @Test(.enabled(if: SystemdTests.analyze != nil, "systemd-analyze is not installed: apt-get install systemd"))
    func theUnitFilesVerify() async throws {
        let analyze = try #require(Self.analyze)
        let dir = try TestEnv.directory("units")
        let binary = try TestEnv.paneBinary()
        var paths: [String] = []
        for name in ["pane-hub.service", "pane-spoke@.service"] {
            let text = try String(contentsOfFile: "\(Self.unitFolder)/\(name)", encoding: .utf8)
            #expect(text.contains("Type=notify") && text.contains("NoNewPrivileges=yes") && text.contains("ProtectSystem=strict"))
            #expect(text.contains("ProtectHome=yes") && text.contains("PrivateTmp=yes") && text.contains("StateDirectory=pane"))
            #expect(text.contains("Restart=on-failure") && text.contains("EnvironmentFile="))
            try text.replacingOccurrences(of: "/usr/local/bin/pane", with: binary).write(toFile: "\(dir)/\(name)", atomically: true, encoding: .utf8)
            paths.append("\(dir)/\(name)")
        }
        let output = "\(dir)/verify.log"
        let child = try ChildProcess(name: "systemd-analyze", executable: analyze, arguments: ["verify"] + paths, logPath: output)
        let status = try await BlockingThread.value(name: "test-verify") {
            child.process.waitUntilExit()
            return child.process.terminationStatus
        }
        let text = try String(contentsOfFile: output, encoding: .utf8)
        #expect(status == 0 && text.isEmpty, "systemd-analyze verify: \(text)")
    }
}
