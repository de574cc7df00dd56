import Foundation
import PaneApp
import PaneCore
import PaneRedis
import PaneRuntime
import PaneTestKit
import Testing

/// Redis users and passwords (issue 10, item 2): URLs with credentials, `AUTH` on every connect
/// and reconnect, `redis.passwordFile`, and a refused login that names the user, never the password.
@Suite struct RedisAuthTests {
    static let password = "Pw-7c1e9f0a-secret"

    /// A private redis-server with an ACL user `pane-t` (password ``password``), allowed everything.
    static func redisWithUser(_ dir: String) throws -> RedisServerProcess {
        let redis = try RedisServerProcess(directory: dir)
        let conn = try RedisConnection(endpoint: redis.endpoint)
        defer { conn.close() }
        try conn.command(["ACL", "SETUSER", "pane-t", "on", RedisArgument(">" + password), "~*", "&*", "+@all"])
        return redis
    }

    @Test func urlsCarryUsersAndPasswordsThatNoMessageShows() throws {
        let full = try RedisEndpoint(url: "redis://pane-spoke:\(Self.password)@db.example:6380/2")
        #expect(full.user == "pane-spoke" && full.password == Self.password && full.host == "db.example" && full.port == 6380)
        #expect(full.database == 2)
        #expect(full.description == "redis://pane-spoke:****@db.example:6380/2")
        #expect(full.urlWithoutPassword == "redis://pane-spoke@db.example:6380/2")
        #expect(try RedisEndpoint(url: full.urlWithPassword) == full)
        let passwordOnly = try RedisEndpoint(url: "redis://:\(Self.password)@127.0.0.1")
        #expect(passwordOnly.user == nil && passwordOnly.password == Self.password && passwordOnly.userName == "default")
        #expect(passwordOnly.description == "redis://:****@127.0.0.1:6379")
        let userOnly = try RedisEndpoint(url: "redis://pane-hub@127.0.0.1:6379")
        #expect(userOnly.user == "pane-hub" && userOnly.password == nil && userOnly.description == "redis://pane-hub@127.0.0.1:6379")
        let escaped = try RedisEndpoint(url: "redis://u%40x:p%3A%40%2F@h:1")
        #expect(escaped.user == "u@x" && escaped.password == "p:@/")
        #expect(try RedisEndpoint(url: escaped.urlWithPassword) == escaped)
        #expect(try RedisEndpoint(url: "redis://h:1") == RedisEndpoint(host: "h", port: 1))
        for bad in [
            "redis://u:\(Self.password)@h:99999", "redis://u:\(Self.password)@:6379", "rediss://u:\(Self.password)@h",
            "redis://u:\(Self.password)@h:1/x", "redis://u:%zz\(Self.password)@h",
        ] {
            do throws(RedisError) {
                _ = try RedisEndpoint(url: bad)
                Issue.record("\(bad) parsed")
            } catch {
                #expect(!error.message.contains(Self.password), "\(error.message)")
                #expect(error.kind == .badURL)
            }
        }
    }

    @Test func aConnectionLogsInOnEveryConnectAndAWrongPasswordNamesTheUser() async throws {
        let dir = try TestEnv.directory("redis-auth")
        let redis = try await BlockingThread.value(name: "test-redis") { try Self.redisWithUser(dir) }
        defer { redis.stop() }  // SIGTERM; redis-server exits at once
        let login = RedisEndpoint(host: "127.0.0.1", port: redis.endpoint.port, user: "pane-t", password: Self.password)
        try await BlockingThread.value(name: "test-auth") {
            let conn = try RedisConnection(endpoint: login)
            #expect(try conn.command(["ACL", "WHOAMI"]).string == "pane-t")
            conn.close()
            do throws(RedisError) {
                _ = try RedisConnection(endpoint: login.with(password: "wrong-\(Self.password)"))
                Issue.record("a wrong password logged in")
            } catch {
                #expect(error.kind == .auth && error.breaksConnection)
                #expect(error.message.contains("'pane-t'") && error.message.contains("WRONGPASS"), "\(error)")
                #expect(!"\(error)".contains(Self.password))
            }
            // A reconnect logs in again: kill the client's connection, the next run re-makes it.
            let client = RedisClient(endpoint: login, readTimeoutMs: 2_000, logger: TestEnv.logger)
            defer { client.close() }
            let first = try client.run { conn throws(RedisError) in try conn.command(["ACL", "WHOAMI"]).string }
            #expect(first == "pane-t")
            let admin = try RedisConnection(endpoint: redis.endpoint)
            defer { admin.close() }
            // At least the client's (the server may not have noticed the closed one above yet).
            #expect((try admin.command(["CLIENT", "KILL", "USER", "pane-t"]).int ?? 0) >= 1)
            var answered: String?
            for _ in 0..<5 where answered == nil {
                answered = try? client.run { conn throws(RedisError) in try conn.command(["ACL", "WHOAMI"]).string }
            }
            #expect(answered == "pane-t")
            // No password at all against a server that wants one: NOAUTH.
            let noPassword = try RedisConnection(endpoint: RedisEndpoint(host: "127.0.0.1", port: redis.endpoint.port))
            try noPassword.command(["CONFIG", "SET", "requirepass", RedisArgument("x-\(Self.password)")])
            noPassword.close()
            let refusal = RedisLoginCheck.refusal(RedisEndpoint(host: "127.0.0.1", port: redis.endpoint.port))
            #expect(refusal?.reason.contains("asks for a password") == true, "\(String(describing: refusal))")
        }
    }

    @Test func hubAndSpokeRefuseAWrongPasswordWithExit2AndNeverPrintIt() async throws {
        let dir = try TestEnv.directory("redis-auth-refused")
        let redis = try await BlockingThread.value(name: "test-redis") { try Self.redisWithUser(dir) }
        defer { redis.stop() }  // SIGTERM; redis-server exits at once
        let region = try TestEnv.region("auth-refused")
        let wrong = RedisEndpoint(host: "127.0.0.1", port: redis.endpoint.port, user: "pane-t", password: "wrong-\(Self.password)")
        let flags = try TestEnv.redisArguments(wrong, dir: dir)
        let hub = try await PaneCommand.run(["hub"] + flags + ["--regions", region.name, "--db", "\(dir)/hub.sqlite", "--http", "127.0.0.1:0"])
        #expect(hub.status == 2, "\(hub.output)")
        #expect(hub.output.contains("pane-t") && hub.output.contains("WRONGPASS") && !hub.output.contains(Self.password), "\(hub.output)")
        let spoke = try await PaneCommand.run(
            ["spoke"] + flags + ["--region", region.name, "--db", "\(dir)/s.sqlite", "--http", "127.0.0.1:0"])
        #expect(spoke.status == 2, "\(spoke.output)")
        #expect(spoke.output.contains("pane-t") && !spoke.output.contains(Self.password), "\(spoke.output)")
        // The password in the URL: refused the same way, and masked.
        let inURL = try await PaneCommand.run(
            ["spoke", "--redis", wrong.urlWithPassword, "--region", region.name, "--db", "\(dir)/s.sqlite", "--http", "127.0.0.1:0"])
        #expect(inURL.status == 2 && inURL.output.contains("pane-t:****@") && !inURL.output.contains(Self.password), "\(inURL.output)")
        // No password for a server that wants one.
        let none = try await PaneCommand.run(
            ["spoke", "--redis", "redis://pane-t@127.0.0.1:\(redis.endpoint.port)", "--region", region.name, "--db", "\(dir)/s.sqlite"])
        #expect(none.status == 2 && none.output.contains("pane-t"), "\(none.output)")
    }

    @Test func thePasswordFileIsCheckedAndNeverShown() async throws {
        let dir = try TestEnv.directory("redis-password-file")
        let good = "\(dir)/good"
        _ = FileManager.default.createFile(atPath: good, contents: Data("\(Self.password)\n".utf8), attributes: [.posixPermissions: 0o600])
        let check = try await PaneCommand.run(
            ["config", "check", "--redis", "redis://pane-hub@127.0.0.1:6379", "--redis-password-file", good])
        #expect(check.status == 0 && check.output.contains("redis.passwordFile") && !check.output.contains(Self.password), "\(check.output)")
        let cases: [(String, Data?, Int16, String)] = [
            ("missing", nil, 0o600, "no such file"), ("empty", Data(), 0o600, "empty"), ("open", Data("x\n".utf8), 0o644, "chmod o-rwx"),
            ("two", Data("a\nb\n".utf8), 0o600, "2 lines"),
        ]
        for (name, contents, mode, reason) in cases {
            let path = "\(dir)/\(name)"
            if let contents { _ = FileManager.default.createFile(atPath: path, contents: contents, attributes: [.posixPermissions: mode]) }
            let run = try await PaneCommand.run(["admin", "status", "--redis-password-file", path, "--regions", "x"])
            #expect(run.status == 2 && run.output.contains("redis.passwordFile") && run.output.contains(reason), "\(name): \(run.output)")
        }
        let both = try await PaneCommand.run(
            ["admin", "status", "--redis", "redis://u:\(Self.password)@127.0.0.1:1", "--redis-password-file", good, "--regions", "x"])
        #expect(both.status == 2 && both.output.contains("one place") && !both.output.contains(Self.password), "\(both.output)")
    }

    /// The core path with a password file: a hub and a spoke logged in as an ACL user converge,
    /// and `pane admin status` reads with the same file.
    @Test func hubSpokeAndAdminLogInThroughThePasswordFile() async throws {
        let dir = try TestEnv.directory("redis-auth-path")
        let redis = try await BlockingThread.value(name: "test-redis") { try Self.redisWithUser(dir) }
        defer { redis.stop() }  // SIGTERM; redis-server exits at once
        let login = RedisEndpoint(host: "127.0.0.1", port: redis.endpoint.port, user: "pane-t", password: Self.password)
        try await TestScene.run("auth-path", redis: redis.endpoint) { scene in
            let hub = try HubProcess.start(regions: scene.regions, dir: scene.directory, redis: login)
            defer { hub.child.stop() }
            let spoke = try scene.spoke("a", redis: login)
            #expect(await hub.ready())
            let statuses = try await BlockingThread.value(name: "test-puts") {
                try (0..<20).map { i in try hub.probe().request("PUT", "/v1/contexts/c-\(i)", body: Array("{\"v\":\(i)}".utf8)).status }
            }
            #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")
            #expect(await eventually(20) { (try? spoke.probe().get("/v1/contexts/c-19").status) == 200 }, "\(spoke.log().suffix(1000))")
            #expect(!hub.log().contains(Self.password) && !spoke.log().contains(Self.password))
            #expect(spoke.log().contains("pane-t:****@127.0.0.1"), "\(spoke.log().prefix(1000))")
            let status = try await PaneCommand.run(
                ["admin", "status", "--regions", scene.region.name, "--json"] + (try TestEnv.redisArguments(login, dir: scene.directory)))
            #expect(status.status == 0 && !status.output.contains(Self.password), "\(status.output)")
        }
    }
}
