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
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout other-ca.key -out other-ca.crt -days 1 -subj '/CN=Another CA'
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

    @Test func theCorePathRunsThroughTheTunnelToATLSRedis() async throws {
        let stunnel = try #require(Self.stunnel(), "stunnel4 is not installed (ops/lib.sh installs it)")
        let redisBinary = try #require(RedisServerProcess.findBinary())
        let dir = try TestEnv.directory("redis-tls")
        try await BlockingThread.value(name: "test-openssl") { try Self.certificates(dir) }
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
        let config = "\(dir)/stunnel.conf"
        try Self.tunnelConfig(accept: tunnelPort, connect: tlsPort, caFile: "\(dir)/ca.crt", host: "localhost")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let tunnel = try ChildProcess(name: "stunnel", executable: stunnel, arguments: [config], logPath: "\(dir)/stunnel.log")
        defer { tunnel.stop() }
        let wrongPort = LocalPorts.free()
        let wrongConfig = "\(dir)/stunnel-wrong.conf"
        try Self.tunnelConfig(accept: wrongPort, connect: tlsPort, caFile: "\(dir)/other-ca.crt", host: "localhost")
            .write(toFile: wrongConfig, atomically: true, encoding: .utf8)
        let wrongTunnel = try ChildProcess(name: "stunnel", executable: stunnel, arguments: [wrongConfig], logPath: "\(dir)/stunnel-wrong.log")
        defer { wrongTunnel.stop() }

        let endpoint = RedisEndpoint(host: "127.0.0.1", port: tunnelPort, password: password)
        /// Whether `endpoint` answers PING within `seconds`, tried every 0.2 s off the cooperative pool.
        func answers(_ endpoint: RedisEndpoint, seconds: Double) async throws -> Bool {
            try await BlockingThread.value(name: "test-tunnel") { () -> Bool in
                let deadline = Date().addingTimeInterval(seconds)
                repeat {
                    if (try? RedisConnection(endpoint: endpoint, connectTimeoutMs: 500, readTimeoutMs: 1_000).ping()) != nil { return true }
                    Thread.sleep(forTimeInterval: 0.2)
                } while Date() < deadline
                return false
            }
        }
        let reached = try await answers(endpoint, seconds: 15)
        let stunnelLog = (try? String(contentsOfFile: "\(dir)/stunnel.log", encoding: .utf8)) ?? ""
        try #require(reached, "no PONG through the tunnel: \(stunnelLog.suffix(1500))")
        // Plain text to the TLS port does not get an answer: the bytes really go through TLS.
        #expect(try await answers(RedisEndpoint(host: "127.0.0.1", port: tlsPort, password: password), seconds: 0.5) == false)
        // A tunnel that does not trust the server's CA refuses to carry the connection.
        #expect(try await answers(RedisEndpoint(host: "127.0.0.1", port: wrongPort, password: password), seconds: 3) == false)
        let wrongLog = (try? String(contentsOfFile: "\(dir)/stunnel-wrong.log", encoding: .utf8)) ?? ""
        #expect(wrongLog.contains("certificate verify failed") || wrongLog.contains("Rejected by CERT"), "\(wrongLog.suffix(800))")

        try await TestScene.run("tls", redis: endpoint) { scene in
            let hub = try HubProcess.start(regions: scene.regions, dir: scene.directory, redis: endpoint)
            defer { hub.child.stop() }
            let spoke = try scene.spoke("a")
            #expect(await hub.ready())
            let statuses = try await BlockingThread.value(name: "test-puts") {
                let probe = hub.probe()
                return try (0..<200).map { i in try probe.request("PUT", "/v1/contexts/c-\(i % 100)", body: Array("{\"i\":\(i)}".utf8)).status }
            }
            #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")
            let replica = try ReplicaStore(path: spoke.db)
            #expect(try await eventually(60) {
                let state = try replica.state()
                return state.count == 100 && state.values.allSatisfy { $0.version == 2 }
            }, "\(spoke.log().suffix(1500))")
            #expect(spoke.child.isRunning && hub.child.isRunning)
            #expect(!spoke.log().contains(password) && !hub.log().contains(password))
        }
    }
}
