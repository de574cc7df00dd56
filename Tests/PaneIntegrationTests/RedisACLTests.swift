import Foundation
import PaneApp
import PaneCore
import PaneRedis
import PaneRuntime
import PaneTestKit
import Testing

/// `ops/redis/pane.acl` (issue 10, item 2): one Redis user per role, each allowed only its own
/// commands on `pane:*` keys. The whole core path runs against a redis-server that enforces the
/// file, every process logged in as its role's user; any refusal (NOPERM) fails the test.
@Suite struct RedisACLTests {
    static var repository: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized.path
    }

    /// The users of the ACL file: name -> the commands (`xadd`, `xinfo|stream`) it allows.
    static func aclUsers() throws -> [String: Set<String>] {
        let text = try String(contentsOfFile: "\(repository)/ops/redis/pane.acl", encoding: .utf8)
        var users: [String: Set<String>] = [:]
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "()")) }
            #expect(words.first == "user", "Redis refuses anything but 'user' lines (no comments): \(line)")
            guard words.count > 2 else { continue }
            users[words[1]] = Set(words.filter { $0.hasPrefix("+") }.map { String($0.dropFirst()).lowercased() })
        }
        return users
    }

    /// Every command spelled in `Sources/PaneRedis/Commands` (the only place commands are
    /// spelled), as `name` or `name|subcommand`, lower case.
    static func commandsInCode() throws -> Set<String> {
        let folder = "\(repository)/Sources/PaneRedis/Commands"
        let containers: Set<String> = ["xgroup", "xinfo", "config", "memory", "acl", "client", "object", "cluster"]
        var found: Set<String> = []
        // `command(["XADD", …`, `args: [RedisArgument] = ["XRANGE", …` (not `args += ["COUNT", …`),
        // and a buffer's `command("XINFO", arguments: 2)` followed by `argument("STREAM")`.
        let pattern = try NSRegularExpression(
            pattern: #"(?:command\(\[|command\(|[^+]=\s*\[)\s*"([A-Z]+)"(?:(?:\s*,\s*|, arguments: \d+\)\s*argument\()"([A-Z]+)")?"#)
        for file in try FileManager.default.contentsOfDirectory(atPath: folder) where file.hasSuffix(".swift") {
            let text = try String(contentsOfFile: "\(folder)/\(file)", encoding: .utf8)
            let range = NSRange(text.startIndex..., in: text)
            for match in pattern.matches(in: text, range: range) {
                guard let nameRange = Range(match.range(at: 1), in: text) else { continue }
                let name = text[nameRange].lowercased()
                if containers.contains(name), let subRange = Range(match.range(at: 2), in: text) {
                    found.insert(name + "|" + text[subRange].lowercased())
                } else {
                    found.insert(name)
                }
            }
        }
        return found
    }

    /// Commands the families offer for tests, `pane dev`, the load test and repair against a
    /// private or an operator's Redis, which no Pane role sends. Adding one here is a decision:
    /// a command a role sends must be allowed in the ACL file instead.
    static let notForRoles: Set<String> = [
        "auth",  // always allowed to every user
        "flushall", "shutdown", "config|get", "config|set", "dbsize", "keys", "exists", "ttl", "type", "hdel", "hget", "llen",
        "lrange", "xgroup|destroy", "xgroup|createconsumer",
        // The test cluster's set-up and slot moves (RedisClusterProcess).
        "cluster|keyslot", "cluster|info", "cluster|myid", "cluster|setslot", "cluster|getkeysinslot", "migrate",
    ]

    @Test func everyCommandTheCodeSpellsIsAllowedToARoleOrListedAsToolOnly() throws {
        let users = try Self.aclUsers()
        #expect(Set(users.keys) == ["pane-hub", "pane-spoke", "pane-admin", "default"])
        #expect(users["default"]?.isEmpty == true, "the default user is off and allowed nothing")
        let code = try Self.commandsInCode()
        #expect(code.count > 30 && code.contains("xadd") && code.contains("xinfo|groups") && code.contains("xautoclaim"), "\(code.sorted())")
        let allowed = users.values.reduce(into: Set<String>()) { $0.formUnion($1) }
        let missing = code.subtracting(allowed).subtracting(Self.notForRoles)
        #expect(missing.isEmpty, "commands in PaneRedis/Commands that no role of ops/redis/pane.acl may send: \(missing.sorted())")
        let stale = allowed.subtracting(code)
        #expect(stale.isEmpty, "ops/redis/pane.acl allows commands the code never sends: \(stale.sorted())")
        let exemptButUsed = Self.notForRoles.intersection(allowed)
        #expect(exemptButUsed.isEmpty, "listed as tool-only but allowed to a role: \(exemptButUsed.sorted())")
    }

    /// A redis-server that loads a copy of `ops/redis/pane.acl` with each user switched on with a
    /// password, plus a `root` user for the test's own setup and checks.
    struct ACLRedis {
        let server: RedisServerProcess
        let passwords: [String: String]

        init(dir: String) throws {
            var passwords: [String: String] = [:]
            var lines: [String] = []
            let text = try String(contentsOfFile: "\(RedisACLTests.repository)/ops/redis/pane.acl", encoding: .utf8)
            for line in text.split(separator: "\n") {
                let words = line.split(separator: " ")
                guard words.count > 2, words[1].hasPrefix("pane-") else {
                    lines.append(String(line))
                    continue
                }
                let password = "pw-\(words[1])-\(UUID().uuidString.prefix(8))"
                passwords[String(words[1])] = password
                // `on`, and the password after `resetpass`: rules apply left to right.
                lines.append(line.replacingOccurrences(of: " off ", with: " on ") + " >\(password)")
            }
            let root = "root-\(UUID().uuidString.prefix(8))"
            lines.append("user root on >\(root) ~* &* +@all")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let path = "\(dir)/pane.acl"
            try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            server = try RedisServerProcess(directory: dir, extraArguments: ["--aclfile", path], user: "root", password: root)
            self.passwords = passwords
        }

        /// The endpoint that logs in as `user`.
        func login(_ user: String) -> RedisEndpoint {
            RedisEndpoint(host: "127.0.0.1", port: server.endpoint.port, user: user, password: passwords[user])
        }

        /// Every refusal Redis recorded (`ACL LOG`), as `user: command on object (reason)`.
        func refusals() throws -> [String] {
            let conn = try RedisConnection(endpoint: server.endpoint)
            defer { conn.close() }
            return (try conn.command(["ACL", "LOG"]).array ?? []).map { entry in
                let fields = entry.fieldMap
                return "\(fields["username"]?.string ?? "?"): \(fields["object"]?.string ?? "?") (\(fields["reason"]?.string ?? "?"))"
            }
        }
    }

    @Test func theCorePathRunsWithEachRoleLoggedInAsItsOwnUser() async throws {
        let dir = try TestEnv.directory("redis-acl")
        let acl = try await BlockingThread.value(name: "test-acl-redis") { try ACLRedis(dir: "\(dir)/redis") }
        defer { acl.server.stop() }
        let (hubLogin, spokeLogin, adminLogin) = (acl.login("pane-hub"), acl.login("pane-spoke"), acl.login("pane-admin"))
        try await TestScene.run("acl", redis: acl.server.endpoint) { scene in
            let region = scene.region
            let adminFlags = try TestEnv.redisArguments(adminLogin, dir: scene.directory)
            let hub = try HubProcess.start(
                regions: scene.regions, dir: scene.directory,
                extra: ["--anti-entropy-interval-ms", "500", "--retention-max-entries", "40", "--log-level", "info"],
                environment: ProcessInfo.processInfo.environment.merging(
                    ["PANE_HUB_RETENTION_INTERVAL_MS": "200", "PANE_HUB_REPLICA_TIMEOUT_MS": "3000"]) { $1 },
                redis: hubLogin)
            defer { hub.child.stop() }
            let spokeFlags = ["--digest-interval-ms", "300", "--gap-stall-ms", "300", "--resync-timeout-ms", "5000"]
            let a = try scene.spoke("a", extra: spokeFlags, redis: spokeLogin)
            var b = try scene.spoke("b", extra: spokeFlags, redis: spokeLogin)
            #expect(await hub.ready())
            /// PUTs off the cooperative pool, which has only two threads.
            func put(_ writes: [(id: String, version: Int)]) async throws {
                let statuses = try await BlockingThread.value(name: "test-puts") {
                    let probe = hub.probe()
                    return try writes.map { try probe.request("PUT", "/v1/contexts/\($0.id)", body: Array("{\"v\":\($0.version)}".utf8)).status }
                }
                #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")
            }
            func holds(_ spoke: SpokeProcess, _ id: String, _ version: Int) -> Bool {
                (try? spoke.probe().get("/v1/contexts/\(id)").text.contains("\"v\":\(version)")) == true
            }
            // Publish and apply.
            try await put((0..<30).map { ("c-\($0)", 1) })
            #expect(await eventually(30) { holds(a, "c-29", 1) && holds(b, "c-29", 1) }, "\(a.log().suffix(1500))")

            // A forged entry (a millisecond id) written by someone with full access: the spokes
            // dead-letter it, the hub moves it aside and the groups back.
            let root = try scene.connection()
            let forged = StreamEntryCodec.encode(
                ContextUpdate(seq: 1, id: try ContextID("c-3"), version: 99, op: .put, body: Array("{}".utf8), hubTimeUs: WallClock.nowUs()))
            _ = try root.xadd(key: region.keys.updates, id: "*", fields: forged)
            #expect(try await eventually(20) { try root.xlen(key: region.keys.deadLetters) >= 1 }, "\(a.log().suffix(1500))")
            try await put([("after-forged", 1)])
            #expect(await eventually(30) { holds(a, "after-forged", 1) && holds(b, "after-forged", 1) }, "\(a.log().suffix(1500))")

            // The admin lists and replays the dead letters (through the hub), and purges.
            let list = try await PaneCommand.run(["admin", "dlq", "list", "--region", region.name] + adminFlags)
            #expect(list.status == 0 && list.output.contains("c-3"), "\(list.output)")
            let replay = try await PaneCommand.run(
                ["admin", "dlq", "replay", "--region", region.name, "--all", "--hub", "127.0.0.1:\(hub.port)"] + adminFlags)
            #expect(replay.status == 0 && replay.output.contains("replayed"), "\(replay.output)")
            _ = try root.xadd(key: region.keys.deadLetters, fields: [("ctx", Array("x".utf8))])
            let purge = try await PaneCommand.run(["admin", "dlq", "purge", "--region", region.name, "--older-than", "0s"] + adminFlags)
            #expect(purge.status == 0, "\(purge.output)")

            // A gap: replica b is down while retention trims past it; back, it resyncs.
            #expect(b.child.stop() == 0)
            try await put((0..<120).map { ("g-\($0 % 60)", $0 / 60 + 1) })
            #expect(await eventually(30) { holds(a, "g-59", 2) }, "\(a.log().suffix(1500))")
            #expect(try await eventually(20) { try root.xlen(key: region.keys.updates) <= 80 }, "retention did not trim")
            b = try scene.spoke("b", extra: spokeFlags, redis: spokeLogin)
            #expect(await eventually(60) { holds(b, "g-59", 2) && holds(b, "c-0", 1) }, "\(b.log().suffix(2000))")

            // An admin resync of replica a, and the status report.
            let resync = try await PaneCommand.run(
                ["admin", "resync", "--region", region.name, "--replica", "a", "--timeout-seconds", "60"] + adminFlags)
            #expect(resync.status == 0 && resync.output.contains("resync done"), "\(resync.output)")
            let status = try await PaneCommand.run(["admin", "status", "--regions", region.name] + adminFlags)
            #expect(status.status == 0 && status.output.contains("noeviction"), "\(status.output)")
            // Anti-entropy rounds ran: the hub's verdicts on both replicas.
            #expect(try await eventually(20) {
                let fields = try root.hgetall(key: region.keys.replicas)
                return fields["a:verdict"] != nil && fields["b:verdict"] != nil
            }, "\((try? root.hgetall(key: region.keys.replicas).keys.sorted()) ?? [])")

            // No role was refused anything, anywhere.
            let refusals = try acl.refusals()
            #expect(refusals.isEmpty, "Redis refused: \(refusals)")
            for (name, log) in [("hub", hub.log()), ("a", a.log()), ("b", b.log())] {
                let refused = log.components(separatedBy: "\n").filter { $0.contains("NOPERM") || $0.contains("WRONGPASS") }
                #expect(refused.isEmpty, "\(name): \(refused.prefix(5))")
            }
            for run in [list, replay, purge, resync, status] { #expect(!run.output.contains("NOPERM"), "\(run.output)") }
            #expect(a.child.isRunning && b.child.isRunning && hub.child.isRunning)

            // The spoke's user may not write a region stream (nor trim it); the admin's neither.
            try await BlockingThread.value(name: "test-acl") {
                for login in [spokeLogin, adminLogin] {
                    let conn = try RedisConnection(endpoint: login)
                    defer { conn.close() }
                    do throws(RedisError) {
                        _ = try conn.xadd(key: region.keys.updates, id: "*", fields: forged)
                        Issue.record("\(login.userName) wrote \(region.keys.updates)")
                    } catch {
                        #expect(error.message.hasPrefix("NOPERM"), "\(error)")
                    }
                    do throws(RedisError) {
                        _ = try conn.xtrim(key: region.keys.updates, to: .maxLength(0), approximate: false)
                        Issue.record("\(login.userName) trimmed \(region.keys.updates)")
                    } catch {
                        #expect(error.message.hasPrefix("NOPERM"), "\(error)")
                    }
                    // Nor touch keys that are not Pane's.
                    do throws(RedisError) {
                        _ = try conn.xadd(key: StreamKey("other:\(region.name)"), id: "*", fields: [("a", [1])])
                        Issue.record("\(login.userName) wrote a key outside pane:*")
                    } catch {
                        #expect(error.message.hasPrefix("NOPERM"), "\(error)")
                    }
                }
            }
            #expect(try root.xlen(key: region.keys.updates) > 0)
            let denied = try acl.refusals()
            #expect(!denied.isEmpty && denied.allSatisfy { $0.hasPrefix("pane-spoke:") || $0.hasPrefix("pane-admin:") }, "\(denied)")
        }
    }
}
