import Foundation
import PaneApp
import PaneCore
import PaneHub
import PaneSpoke
import PaneRedis
import PaneTestKit
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 10, item 1: tokens on the HTTP APIs. Real `pane hub` and `pane spoke` processes with
/// tokens files; each test has its own regions, files and ports.
@Suite struct AuthTests {
    /// One token per role, and one nobody issued.
    struct Tokens {
        let read = "read-\(UUID().uuidString)"
        let write = "write-\(UUID().uuidString)"
        let admin = "admin-\(UUID().uuidString)"
        let metrics = "metrics-\(UUID().uuidString)"
        let unknown = "unknown-\(UUID().uuidString)"

        var file: String { "read \(read)\nwrite \(write)\nadmin \(admin)\nmetrics \(metrics)\n" }
        var all: [String] { [read, write, admin, metrics, unknown] }
    }

    /// Writes `text` to `path` through a rename, as an editor or a deploy tool would, so a
    /// reload never sees half a file.
    static func write(_ text: String, to path: String) throws {
        let temporary = "\(path).tmp-\(UUID().uuidString.prefix(8))"
        try text.write(toFile: temporary, atomically: false, encoding: .utf8)
        guard rename(temporary, path) == 0 else { throw TestFailure("rename to \(path) failed: \(String(cString: strerror(errno)))") }
    }

    /// The status of `method path` with `token` (none when `nil`).
    static func status(_ port: Int, _ method: String, _ path: String, token: String?, body: String = "") throws -> Int {
        try HTTPProbe(port: port, timeoutMs: 5_000, token: token).request(method, path, body: Array(body.utf8)).status
    }

    /// A 401 carries `WWW-Authenticate: Bearer` and a JSON error body.
    static func expectUnauthorized(_ reply: HTTPProbe.Reply, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(reply.status == 401, "\(reply.text)", sourceLocation: sourceLocation)
        #expect(reply.header("www-authenticate")?.hasPrefix("Bearer") == true, "\(reply.headers)", sourceLocation: sourceLocation)
        #expect(reply.header("content-type") == "application/json", sourceLocation: sourceLocation)
        #expect(reply.text.hasPrefix("{\"error\":\""), "\(reply.text)", sourceLocation: sourceLocation)
    }

    @Test func hubAnswersEachRoleOnEachRoute() async throws {
        try await TestScene.run("auth-hub") { scene in
            let tokens = Tokens()
            let file = scene.path("tokens")
            try Self.write("# hub tokens\n\n" + tokens.file, to: file)
            #expect(chmod(file, 0o644) == 0)
            let hub = try HubProcess.start(regions: scene.regions, dir: scene.directory, extra: ["--tokens-file", file])
            defer { hub.child.stop() }
            #expect(await hub.ready(), "\(hub.log().suffix(800))")
            let port = hub.port
            let region = scene.region.name

            // Without a token, or with one nobody issued: 401, whatever the route (unknown routes too).
            for path in ["/v1/contexts/a", "/metrics", "/no/such/route"] {
                Self.expectUnauthorized(try HTTPProbe(port: port).get(path))
                Self.expectUnauthorized(try HTTPProbe(port: port, token: tokens.unknown).get(path))
            }
            Self.expectUnauthorized(try HTTPProbe(port: port).request("PUT", "/v1/contexts/a", body: Array("{}".utf8)))
            Self.expectUnauthorized(try HTTPProbe(port: port).request("GET", "/v1/contexts/a", headers: ["Authorization": "Basic dXNlcjpwYXNz"]))
            #expect(try Self.status(port, "GET", "/healthz", token: nil) == 200)
            #expect(try Self.status(port, "GET", "/healthz", token: tokens.unknown) == 200)

            // PUT: write and admin.
            var expected = [tokens.read: 403, tokens.write: 200, tokens.admin: 200, tokens.metrics: 403, tokens.unknown: 401]
            for token in tokens.all {
                #expect(try Self.status(port, "PUT", "/v1/contexts/a", token: token, body: "{\"v\":1}") == expected[token], "PUT with \(token.prefix(5))")
            }
            // GET: read only.
            expected = [tokens.read: 200, tokens.write: 403, tokens.admin: 403, tokens.metrics: 403, tokens.unknown: 401]
            for token in tokens.all {
                #expect(try Self.status(port, "GET", "/v1/contexts/a", token: token) == expected[token], "GET with \(token.prefix(5))")
            }
            // DELETE: write and admin (a PUT first, so the delete finds something).
            expected = [tokens.read: 403, tokens.write: 200, tokens.admin: 200, tokens.metrics: 403, tokens.unknown: 401]
            for token in tokens.all {
                #expect(try Self.status(port, "PUT", "/v1/contexts/d", token: tokens.write, body: "{}") == 200)
                #expect(try Self.status(port, "DELETE", "/v1/contexts/d", token: token) == expected[token], "DELETE with \(token.prefix(5))")
            }
            // Republish: admin only.
            expected = [tokens.read: 403, tokens.write: 403, tokens.admin: 200, tokens.metrics: 403, tokens.unknown: 401]
            for token in tokens.all {
                let status = try Self.status(port, "POST", "/v1/regions/\(region)/republish", token: token, body: "{\"ids\":[\"a\"]}")
                #expect(status == expected[token], "republish with \(token.prefix(5))")
            }
            // Metrics: metrics only.
            expected = [tokens.read: 403, tokens.write: 403, tokens.admin: 403, tokens.metrics: 200, tokens.unknown: 401]
            for token in tokens.all {
                #expect(try Self.status(port, "GET", "/metrics", token: token) == expected[token], "/metrics with \(token.prefix(5))")
            }
            // A 403 says which role the request needs, as the API's other errors do.
            let forbidden = try HTTPProbe(port: port, token: tokens.read).request("PUT", "/v1/contexts/a", body: Array("{}".utf8))
            #expect(forbidden.status == 403 && forbidden.text.contains("needs a write or admin token"), "\(forbidden.text)")
            #expect(forbidden.header("content-type") == "application/json")
            // Tokens never reach the log.
            let log = hub.log()
            for token in tokens.all { #expect(!log.contains(token), "the log holds a token") }
            #expect(log.contains("tokens loaded"), "\(log.suffix(800))")
            // Other users may read the file (0644): the hub says so.
            #expect(log.contains("other users may read or write the tokens file"), "\(log.suffix(800))")
        }
    }

    @Test func spokeAnswersEachRoleOnEachRoute() async throws {
        try await TestScene.withHub("auth-spoke") { scene, hub in
            let tokens = Tokens()
            let file = scene.path("tokens")
            try Self.write(tokens.file, to: file)
            #expect(chmod(file, 0o600) == 0)
            _ = try await hub.store.put(id: try ContextID("tenant/a"), body: Array("{\"v\":1}".utf8))
            let spoke = try scene.spoke("a", extra: ["--tokens-file", file])
            let port = spoke.port
            // The probes stay open: readiness without a token.
            #expect(await eventually(30) { (try? Self.status(port, "GET", "/readyz", token: nil)) == 200 }, "\(spoke.log().suffix(800))")
            #expect(try Self.status(port, "GET", "/healthz", token: nil) == 200)
            #expect(await eventually(20) { (try? Self.status(port, "GET", "/v1/contexts/tenant%2Fa", token: tokens.read)) == 200 })

            let expected = [tokens.read: 200, tokens.write: 403, tokens.admin: 403, tokens.metrics: 403, tokens.unknown: 401]
            for path in ["/v1/contexts/tenant%2Fa", "/v1/contexts?prefix=tenant/"] {
                Self.expectUnauthorized(try HTTPProbe(port: port).get(path))
                for token in tokens.all {
                    #expect(try Self.status(port, "GET", path, token: token) == expected[token], "GET \(path) with \(token.prefix(5))")
                }
            }
            let metrics = [tokens.read: 403, tokens.write: 403, tokens.admin: 403, tokens.metrics: 200, tokens.unknown: 401]
            Self.expectUnauthorized(try HTTPProbe(port: port).get("/metrics"))
            for token in tokens.all {
                #expect(try Self.status(port, "GET", "/metrics", token: token) == metrics[token], "/metrics with \(token.prefix(5))")
            }
            // A spoke takes no writes; a read token may not even try.
            #expect(try Self.status(port, "PUT", "/v1/contexts/tenant%2Fa", token: tokens.read, body: "{}") == 403)
            let reply = try HTTPProbe(port: port, token: tokens.read).get("/v1/contexts/tenant%2Fa")
            #expect(reply.text.contains("\"version\":1") && reply.header("pane-replica-seq") != nil)
            let log = spoke.log()
            for token in tokens.all { #expect(!log.contains(token), "the log holds a token") }
            #expect(log.contains("tokens loaded") && !log.contains("other users may"), "\(log.suffix(800))")
        }
    }

    /// A client that keeps writing with one token from a thread of its own, recording every status.
    final class ClientLoop: Sendable {
        let statuses = Locked<[Int]>([])
        let stopping = Locked(false)
        let finished = Locked(false)

        init(port: Int, token: String, id: String) {
            let thread = Thread { [self] in
                let probe = HTTPProbe(port: port, timeoutMs: 5_000, token: token)
                var n = 0
                while !stopping.value {
                    n += 1
                    let status = (try? probe.request("PUT", "/v1/contexts/\(id)", body: Array("{\"n\":\(n)}".utf8)).status) ?? -1
                    statuses.withLock { $0.append(status) }
                    usleep(5_000)
                }
                finished.value = true
            }
            thread.start()
        }

        /// Stops the loop and returns every status it saw.
        func stop() async -> [Int] {
            stopping.value = true
            _ = await eventually(10) { finished.value }
            return statuses.value
        }
    }

    @Test func rotationOnSIGHUPFailsNoRequest() async throws {
        try await TestScene.run("auth-rotate") { scene in
            let old = "old-\(UUID().uuidString)"
            let new = "new-\(UUID().uuidString)"
            let file = scene.path("tokens")
            try Self.write("write \(old)\n", to: file)
            let hub = try HubProcess.start(regions: scene.regions, dir: scene.directory, extra: ["--tokens-file", file, "--log-level", "info"])
            defer { hub.child.stop() }
            #expect(await hub.ready(), "\(hub.log().suffix(800))")
            let port = hub.port
            #expect(try Self.status(port, "PUT", "/v1/contexts/x", token: new, body: "{}") == 401)

            // Add the new token while a client keeps writing with the old one.
            let oldClient = ClientLoop(port: port, token: old, id: "old")
            #expect(await eventually(5) { oldClient.statuses.value.count >= 20 })
            try Self.write("write \(old)\nwrite \(new)\n", to: file)
            kill(hub.child.pid, SIGHUP)
            #expect(await eventually(5) { (try? Self.status(port, "PUT", "/v1/contexts/x", token: new, body: "{}")) == 200 })
            #expect(await eventually(5) { hub.log().contains("reason=SIGHUP") }, "\(hub.log().suffix(800))")
            let newClient = ClientLoop(port: port, token: new, id: "new")
            let countBefore = oldClient.statuses.value.count
            #expect(await eventually(5) { oldClient.statuses.value.count >= countBefore + 20 && newClient.statuses.value.count >= 20 })
            let oldStatuses = await oldClient.stop()
            #expect(oldStatuses.count >= 40 && oldStatuses.allSatisfy { $0 == 200 }, "old token: \(Set(oldStatuses))")

            // Remove the old token: it gets 401 now, while the new one keeps working throughout.
            try Self.write("write \(new)\n", to: file)
            kill(hub.child.pid, SIGHUP)
            #expect(await eventually(5) { (try? Self.status(port, "PUT", "/v1/contexts/x", token: old, body: "{}")) == 401 })
            let afterCount = newClient.statuses.value.count
            #expect(await eventually(5) { newClient.statuses.value.count >= afterCount + 20 })
            let newStatuses = await newClient.stop()
            #expect(newStatuses.count >= 40 && newStatuses.allSatisfy { $0 == 200 }, "new token: \(Set(newStatuses))")
            #expect(hub.child.isRunning, "SIGHUP ended the hub: \(hub.log().suffix(800))")
            let log = hub.log()
            #expect(!log.contains(old) && !log.contains(new), "the log holds a token")
        }
    }

    @Test func aBadFileOnReloadKeepsTheOldTokensAndAChangedFileIsReadWithoutASignal() async throws {
        try await TestScene.run("auth-reload") { scene in
            let first = "first-\(UUID().uuidString)"
            let second = "second-\(UUID().uuidString)"
            let file = scene.path("tokens")
            try Self.write("admin \(first)\n", to: file)
            let spokeFile = scene.path("spoke-tokens")
            try Self.write("read \(first)\n", to: spokeFile)
            let hub = try HubProcess.start(regions: scene.regions, dir: scene.directory, extra: ["--tokens-file", file, "--log-level", "info"])
            defer { hub.child.stop() }
            let spoke = try scene.spoke("a", extra: ["--tokens-file", spokeFile])
            #expect(await hub.ready(), "\(hub.log().suffix(800))")
            let port = hub.port
            #expect(try Self.status(port, "PUT", "/v1/contexts/x", token: first, body: "{}") == 200)
            #expect(await eventually(20) { (try? Self.status(spoke.port, "GET", "/v1/contexts/x", token: first)) == 200 })

            // A bad file (an unknown role on line 3) is refused on SIGHUP; the old tokens stay.
            try Self.write("admin \(first)\n# next\nwriter \(second)\n", to: file)
            try Self.write("read \(first)\nread\n", to: spokeFile)
            kill(hub.child.pid, SIGHUP)
            kill(spoke.child.pid, SIGHUP)
            #expect(
                await eventually(5) { hub.log().contains("keeping the old tokens") && hub.log().contains("line 3: unknown role") },
                "\(hub.log().suffix(800))")
            #expect(
                await eventually(5) { spoke.log().contains("keeping the old tokens") && spoke.log().contains("line 2: expected 'ROLE TOKEN'") },
                "\(spoke.log().suffix(800))")
            #expect(try Self.status(port, "PUT", "/v1/contexts/x", token: first, body: "{}") == 200)
            #expect(try Self.status(port, "PUT", "/v1/contexts/x", token: second, body: "{}") == 401)
            #expect(try Self.status(spoke.port, "GET", "/v1/contexts/x", token: first) == 200)
            #expect(hub.child.isRunning && spoke.child.isRunning)

            // A good file is picked up from its modification time alone, without a signal.
            try Self.write("admin \(second)\n", to: file)
            #expect(await eventually(5) { (try? Self.status(port, "PUT", "/v1/contexts/x", token: second, body: "{}")) == 200 }, "\(hub.log().suffix(800))")
            #expect(try Self.status(port, "PUT", "/v1/contexts/x", token: first, body: "{}") == 401)
            #expect(hub.log().contains("reason=file changed"), "\(hub.log().suffix(800))")
            for log in [hub.log(), spoke.log()] {
                #expect(!log.contains(first) && !log.contains(second), "the log holds a token")
            }
        }
    }

    @Test(arguments: ["hub", "spoke"])
    func aBadFileAtStartRefusesToStart(role: String) async throws {
        let dir = try TestEnv.directory("auth-badstart-\(role)")
        let region = try TestEnv.region("authbad\(role)")
        defer { TestEnv.cleanUp([region]) }
        let file = "\(dir)/tokens"
        try Self.write("read \(UUID().uuidString)\nmetrics\(UUID().uuidString)\n", to: file)
        let args = try LifecycleTests.arguments(role: role, region: region, dir: dir, port: LocalPorts.free())
        let ending = try await LifecycleTests.run(args + ["--tokens-file", file], dir: dir)
        #expect(ending.status == 2, "\(ending.log.suffix(800))")
        #expect(
            ending.stopLine == "pane: setting \(role).tokensFile: tokens file \(file): line 2: expected 'ROLE TOKEN' (two fields), found 1 fields",
            "\(ending.log.suffix(800))")

        let missing = "\(dir)/no-such-tokens"
        let none = try await LifecycleTests.run(args + ["--tokens-file", missing], dir: dir)
        #expect(none.status == 2, "\(none.log.suffix(800))")
        #expect(none.stopLine.hasPrefix("pane: setting \(role).tokensFile: tokens file \(missing): cannot read the file"), "\(none.stopLine)")
    }

    /// Secure by default: a non-loopback address needs a tokens file or `--insecure-no-auth`.
    @Test(arguments: ["hub", "spoke"])
    func aNonLoopbackAddressNeedsTokensOrInsecureNoAuth(role: String) async throws {
        let dir = try TestEnv.directory("auth-open-\(role)")
        let region = try TestEnv.region("authopen\(role)")
        defer { TestEnv.cleanUp([region]) }
        let port = LocalPorts.free()
        let args = try LifecycleTests.arguments(role: role, region: region, dir: dir, port: port).map {
            $0 == "127.0.0.1:\(port)" ? "0.0.0.0:\(port)" : $0
        }
        #expect(args.contains("0.0.0.0:\(port)"))

        let refused = try await LifecycleTests.run(args, dir: dir)
        #expect(refused.status == 2, "\(refused.log.suffix(800))")
        #expect(refused.stopLine.contains("setting \(role).tokensFile"), "\(refused.stopLine)")
        #expect(refused.stopLine.contains("0.0.0.0:\(port)") && refused.stopLine.contains("--insecure-no-auth"), "\(refused.stopLine)")

        // The same through the environment: PANE_<ROLE>_INSECURE_NO_AUTH.
        for (extra, environment) in [(["--insecure-no-auth"], [String: String]()), ([], ["PANE_\(role.uppercased())_INSECURE_NO_AUTH": "true"])] {
            let child = try ChildProcess(
                name: role, executable: try TestEnv.paneBinary(), arguments: args + extra, logPath: "\(dir)/\(role)-open.log",
                environment: ProcessInfo.processInfo.environment.merging(environment) { $1 })
            defer { child.stop() }
            #expect(await eventually(15) { !child.isRunning || (try? Self.status(port, "GET", "/healthz", token: nil)) == 200 })
            #expect(child.isRunning, "\((try? String(contentsOfFile: child.logPath, encoding: .utf8))?.suffix(800) ?? "")")
            // No tokens: the API is open.
            let open = role == "hub" ? try Self.status(port, "PUT", "/v1/contexts/x", token: nil, body: "{}") : try Self.status(port, "GET", "/metrics", token: nil)
            #expect(open == 200)
            #expect(child.stop() == 0)
        }

        // With a tokens file it starts, and asks for tokens.
        let file = "\(dir)/tokens"
        try Self.write("read \(UUID().uuidString)\n", to: file)
        let guarded = try ChildProcess(
            name: role, executable: try TestEnv.paneBinary(), arguments: args + ["--tokens-file", file], logPath: "\(dir)/\(role)-tokens.log")
        defer { guarded.stop() }
        #expect(await eventually(15) { !guarded.isRunning || (try? Self.status(port, "GET", "/healthz", token: nil)) == 200 })
        #expect(guarded.isRunning)
        #expect(try Self.status(port, "GET", "/metrics", token: nil) == 401)
    }

    /// `pane admin dlq replay` sends the admin token of `--token-file` or `PANE_TOKEN_FILE`.
    @Test func dlqReplaySendsTheAdminToken() async throws {
        try await TestScene.run("auth-replay") { scene in
            let tokens = Tokens()
            let file = scene.path("tokens")
            try Self.write(tokens.file, to: file)
            let adminFile = scene.path("admin-token")
            try Self.write("# the ops token\n\(tokens.admin)\n", to: adminFile)
            let writeFile = scene.path("write-token")
            try Self.write("\(tokens.write)\n", to: writeFile)
            let hub = try HubProcess.start(regions: scene.regions, dir: scene.directory, extra: ["--tokens-file", file])
            defer { hub.child.stop() }
            #expect(await hub.ready(), "\(hub.log().suffix(800))")
            #expect(try Self.status(hub.port, "PUT", "/v1/contexts/lost", token: tokens.write, body: "{\"v\":1}") == 200)
            let conn = try scene.connection()
            _ = try conn.xadd(key: scene.region.keys.deadLetters, fields: [("ctx", Array("lost".utf8)), ("dlq-kind", Array("permanent".utf8))])
            let base = ["admin", "dlq", "replay", "--region", scene.region.name, "--all", "--redis", scene.redis.description, "--hub", "127.0.0.1:\(hub.port)"]

            let without = try await PaneCommand.run(base)
            #expect(without.status == 1 && without.output.contains("(401)") && without.output.contains("--token-file"), "\(without.output)")
            let writer = try await PaneCommand.run(base, environment: ["PANE_TOKEN_FILE": writeFile])
            #expect(writer.status == 1 && writer.output.contains("(403)"), "\(writer.output)")
            #expect(try conn.xlen(key: scene.region.keys.deadLetters) == 1)
            let admin = try await PaneCommand.run(base + ["--token-file", adminFile])
            #expect(admin.status == 0 && admin.output.contains("replayed 1"), "\(admin.output)")
            #expect(try conn.xlen(key: scene.region.keys.deadLetters) == 0)
            for output in [without.output, writer.output, admin.output] {
                #expect(!output.contains(tokens.admin) && !output.contains(tokens.write))
            }
        }
    }
}

/// The settings behind tokens: `hub.tokensFile`/`spoke.tokensFile`, `…insecureNoAuth` from
/// flags, environment and file, and the secure-by-default rule, without a process.
@Suite struct AuthSettingsTests {
    static func hub(flags: [String: String] = [:], environment: [String: String] = [:], file: String? = nil) async throws -> HubConfiguration {
        var path: String? = nil
        if let file {
            path = "\(try TestEnv.directory("auth-settings"))/pane.json"
            try file.write(toFile: path ?? "", atomically: true, encoding: .utf8)
        }
        var flags = flags
        flags["hub.regions"] = "a"
        let source = try await ConfigSource.load(flags: flags, configFile: path, environment: environment)
        return try HubConfiguration.load(from: source)
    }

    static func spoke(flags: [String: String] = [:], environment: [String: String] = [:]) async throws -> SpokeConfiguration {
        var flags = flags
        flags["spoke.region"] = "a"
        return try SpokeConfiguration.load(from: try await ConfigSource.load(flags: flags, configFile: nil, environment: environment))
    }

    @Test(arguments: ["127.0.0.1:7400", "localhost:7400", "127.0.0.2:7400", "[::1]:7400"])
    func loopbackNeedsNoTokens(address: String) async throws {
        let config = try await Self.hub(flags: ["hub.http": address])
        #expect(config.tokensFile == nil && !config.insecureNoAuth)
        #expect(try await Self.spoke(flags: ["spoke.http": address]).tokensFile == nil)
        // The defaults are loopback too.
        #expect(try await Self.hub().httpHost == "127.0.0.1")
    }

    @Test(arguments: ["0.0.0.0:7400", "10.1.2.3:7400", "[::]:7400", "pane.example.com:7400"])
    func anotherAddressNeedsTokensOrInsecureNoAuth(address: String) async throws {
        do {
            _ = try await Self.hub(flags: ["hub.http": address])
            Issue.record("the hub accepted \(address) without tokens")
        } catch let error as ValidationError {
            #expect(error.input == "setting hub.tokensFile")
            #expect(error.reason.contains(String(address)) && error.reason.contains("PANE_HUB_TOKENS_FILE"), "\(error)")
        }
        do {
            _ = try await Self.spoke(flags: ["spoke.http": address])
            Issue.record("the spoke accepted \(address) without tokens")
        } catch let error as ValidationError {
            #expect(error.input == "setting spoke.tokensFile")
        }
        #expect(try await Self.hub(flags: ["hub.http": address, "hub.tokensFile": "/etc/pane/hub.tokens"]).tokensFile == "/etc/pane/hub.tokens")
        #expect(try await Self.hub(flags: ["hub.http": address], environment: ["PANE_HUB_INSECURE_NO_AUTH": "true"]).insecureNoAuth)
        #expect(try await Self.hub(flags: ["hub.http": address], environment: ["PANE_HUB_TOKENS_FILE": "/t"]).tokensFile == "/t")
        #expect(try await Self.spoke(flags: ["spoke.http": address], environment: ["PANE_SPOKE_INSECURE_NO_AUTH": "1"]).insecureNoAuth)
        #expect(try await Self.hub(file: #"{"hub": {"http": "\#(address)", "insecureNoAuth": true}}"#).insecureNoAuth)
        #expect(try await Self.hub(file: #"{"hub": {"http": "\#(address)", "tokensFile": "/etc/t"}}"#).tokensFile == "/etc/t")
    }

    @Test func aBadBooleanIsNamed() async throws {
        await #expect(throws: ValidationError.self) { try await Self.hub(environment: ["PANE_HUB_INSECURE_NO_AUTH": "maybe"]) }
        do {
            _ = try await Self.hub(environment: ["PANE_HUB_INSECURE_NO_AUTH": "maybe"])
        } catch let error as ValidationError {
            #expect(error.input == "setting hub.insecureNoAuth" && error.value == "maybe")
        }
        #expect(try await Self.hub(environment: ["PANE_HUB_INSECURE_NO_AUTH": "false"]).insecureNoAuth == false)
    }
}
