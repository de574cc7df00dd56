import Foundation
import PaneApp
import PaneCore
import PaneRedis
import PaneRuntime
import PaneStore
import PaneTestKit
import Testing

/// TLS to Redis through the tunnel of `ops/redis/stunnel-client.conf` (issue 10, item 2):
/// hiredis 0.14 has no TLS, so Pane talks to a local stunnel that verifies the server.
@Suite struct RedisTLSTests {
    /// A throwaway CA and a server certificate for `localhost`/127.0.0.1, made with openssl
    /// (P-256 keys: quick to make on a busy machine).
    static func certificates(_ dir: String) throws {
        let script = """
            set -e
            cd '\(dir)'
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt -days 1 -subj '/CN=Pane Test CA'
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout other-ca.key -out other-ca.crt \\
                -days 1 -subj '/CN=Another CA'
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout redis.key -out redis.csr -subj '/CN=localhost'
            printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext
            openssl x509 -req -in redis.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out redis.crt -days 1 -extfile san.ext
            """
        let child = try ChildProcess(name: "openssl", executable: "/bin/sh", arguments: ["-c", script], logPath: "\(dir)/openssl.log")
        child.process.waitUntilExit()
        guard child.process.terminationStatus == 0 else {
            throw TestFailure("openssl failed: \((try? String(contentsOfFile: "\(dir)/openssl.log", encoding: .utf8)) ?? "")")
        }
    }

    /// `ops/redis/stunnel-client.conf` with the test's ports, CA and host name.
    static func tunnelConfig(accept: Int, connect: Int, caFile: String, host: String) throws -> String {
        let shipped = try String(contentsOfFile: "\(RedisACLTests.repository)/ops/redis/stunnel-client.conf", encoding: .utf8)
        var seen: Set<String> = []
        let lines = shipped.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let key = line.split(separator: "=").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            seen.insert(key)
            switch key {
            case "accept": return "accept = 127.0.0.1:\(accept)"
            case "connect": return "connect = 127.0.0.1:\(connect)"
            case "CAfile": return "CAfile = \(caFile)"
            case "checkHost": return "checkHost = \(host)"
            default: return String(line)
            }
        }
        for key in ["client", "accept", "connect", "verifyChain", "CAfile", "checkHost", "foreground"] where !seen.contains(key) {
            throw TestFailure("ops/redis/stunnel-client.conf has no \(key) line")
        }
        return lines.joined(separator: "\n")
    }

    static func stunnel() -> String? {
        ["/usr/bin/stunnel4", "/usr/bin/stunnel"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// What the TLS run saw, for the test body to check.
    struct Observed: Sendable {
        var reached = false
        var plainTextAnswered = true
        var wrongTunnelAnswered = true
        var wrongLog = ""
        var stunnelLog = ""
        var statuses: [Int] = []
        var converged = false
        var running = false
        var passwordLogged = true
        var spokeLog = ""
    }

    /// Whether `endpoint` answers PING within `seconds`, tried every 0.2 s.
    static func answers(_ endpoint: RedisEndpoint, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if (try? RedisConnection(endpoint: endpoint, connectTimeoutMs: 500, readTimeoutMs: 1_000).ping()) != nil { return true }
            Thread.sleep(forTimeInterval: 0.2)
        } while Date() < deadline
        return false
    }

    /// The whole run, blocking, on a thread of its own: processes, probes and waits stay off the
    /// two-thread cooperative pool that the other tests of the run share.
    static func run(stunnel: String, redisBinary: String) throws -> Observed {
        var seen = Observed()
        let dir = try TestEnv.directory("redis-tls")
        try certificates(dir)
        let password = "tls-\(UUID().uuidString.prefix(8))"
        // Redis with TLS only (no plain port) and a password.
        let tlsPort = LocalPorts.free()
        let redis = try ChildProcess(
            name: "redis-tls", executable: redisBinary,
            arguments: [
                "--port", "0", "--tls-port", String(tlsPort), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no",
                "--tls-cert-file", "\(dir)/redis.crt", "--tls-key-file", "\(dir)/redis.key", "--tls-ca-cert-file", "\(dir)/ca.crt",
                "--tls-auth-clients", "no", "--requirepass", password, "--daemonize", "no", "--logfile", "",
            ],
            logPath: "\(dir)/redis.log")
        defer { redis.stop() }
        // The tunnel, as shipped, verifying the server; and one that trusts another CA.
        let tunnelPort = LocalPorts.free()
        try tunnelConfig(accept: tunnelPort, connect: tlsPort, caFile: "\(dir)/ca.crt", host: "localhost")
            .write(toFile: "\(dir)/stunnel.conf", atomically: true, encoding: .utf8)
        let tunnel = try ChildProcess(name: "stunnel", executable: stunnel, arguments: ["\(dir)/stunnel.conf"], logPath: "\(dir)/stunnel.log")
        defer { tunnel.stop() }
        let wrongPort = LocalPorts.free()
        try tunnelConfig(accept: wrongPort, connect: tlsPort, caFile: "\(dir)/other-ca.crt", host: "localhost")
            .write(toFile: "\(dir)/stunnel-wrong.conf", atomically: true, encoding: .utf8)
        let wrongTunnel = try ChildProcess(
            name: "stunnel", executable: stunnel, arguments: ["\(dir)/stunnel-wrong.conf"], logPath: "\(dir)/stunnel-wrong.log")
        defer { wrongTunnel.stop() }

        let endpoint = RedisEndpoint(host: "127.0.0.1", port: tunnelPort, password: password)
        seen.reached = answers(endpoint, seconds: 15)
        seen.stunnelLog = (try? String(contentsOfFile: "\(dir)/stunnel.log", encoding: .utf8)) ?? ""
        guard seen.reached else { return seen }
        // Plain text to the TLS port does not get an answer: the bytes really go through TLS.
        seen.plainTextAnswered = answers(RedisEndpoint(host: "127.0.0.1", port: tlsPort, password: password), seconds: 0.5)
        // A tunnel that does not trust the server's CA refuses to carry the connection.
        seen.wrongTunnelAnswered = answers(RedisEndpoint(host: "127.0.0.1", port: wrongPort, password: password), seconds: 3)
        seen.wrongLog = (try? String(contentsOfFile: "\(dir)/stunnel-wrong.log", encoding: .utf8)) ?? ""

        // The core path through the tunnel: a hub and a spoke, 200 writes.
        let region = try TestEnv.region("tls")
        defer { TestEnv.cleanUp([region], redis: endpoint) }
        let hub = try HubProcess.start(regions: [region], dir: dir, redis: endpoint)
        defer { hub.child.stop() }
        let spoke = try SpokeProcess.start(region: region, replica: "a", db: "\(dir)/a.sqlite", dir: dir, redis: endpoint)
        defer { spoke.child.stop() }
        let probe = hub.probe()
        let ready = Date().addingTimeInterval(30)
        while (try? probe.get("/healthz").status) != 200 && Date() < ready { Thread.sleep(forTimeInterval: 0.1) }
        seen.statuses = try (0..<200).map { i in try probe.request("PUT", "/v1/contexts/c-\(i % 100)", body: Array("{\"i\":\(i)}".utf8)).status }
        let replica = try ReplicaStore(path: spoke.db)
        let deadline = Date().addingTimeInterval(60)
        repeat {
            if let state = try? replica.state(), state.count == 100, state.values.allSatisfy({ $0.version == 2 }) {
                seen.converged = true
                break
            }
            Thread.sleep(forTimeInterval: 0.2)
        } while Date() < deadline
        seen.running = spoke.child.isRunning && hub.child.isRunning
        seen.passwordLogged = spoke.log().contains(password) || hub.log().contains(password)
        seen.spokeLog = String(spoke.log().suffix(1500))
        return seen
    }

    @Test func theCorePathRunsThroughTheTunnelToATLSRedis() async throws {
        let stunnel = try #require(Self.stunnel(), "stunnel4 is not installed (ops/lib.sh installs it)")
        let redisBinary = try #require(RedisServerProcess.findBinary())
        let seen = try await BlockingThread.value(name: "test-tls") { try Self.run(stunnel: stunnel, redisBinary: redisBinary) }
        try #require(seen.reached, "no PONG through the tunnel: \(seen.stunnelLog.suffix(1500))")
        #expect(!seen.plainTextAnswered, "plain text reached the TLS port")
        #expect(!seen.wrongTunnelAnswered, "a tunnel that does not trust the CA carried the connection")
        #expect(seen.wrongLog.contains("certificate verify failed") || seen.wrongLog.contains("Rejected by CERT"), "\(seen.wrongLog.suffix(800))")
        #expect(seen.statuses.count == 200 && seen.statuses.allSatisfy { $0 == 200 }, "\(seen.statuses)")
        #expect(seen.converged, "\(seen.spokeLog)")
        #expect(seen.running && !seen.passwordLogged)
    }
}
