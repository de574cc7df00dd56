import Foundation
import PaneCore
import PaneRedis
import PaneTestKit
import Testing

@Suite struct CommandLineTests {
    /// Each bad flag, variable or file gets a non-zero exit and a message naming it.
    @Test(arguments: [
        (["hub", "--regions", "a", "--http", "nope"], [String: String](), "hub.http"),
        (["hub", "--regions", "Bad Region"], [:], "hub.regions"),
        (["hub"], [:], "hub.regions"),
        (["hub", "--regions", "a", "--redis", "http://x"], [:], "redis.url"),
        (["spoke"], [:], "spoke.region"),
        (["spoke", "--region", "a", "--replica", "A!"], [:], "spoke.replica"),
        (["spoke", "--region", "a"], ["PANE_SPOKE_BATCH_SIZE": "lots"], "spoke.batchSize"),
        (["spoke", "--region", "a", "--config", "/nonexistent/pane.json"], [:], "/nonexistent/pane.json"),
        (["hub", "--regions", "a", "--log-level", "loud"], [:], "--log-level"),
        (["dev", "--regions", "0"], [:], "--regions"),
        (["spoke", "--region", "a", "--hub-url", "nope"], [:], "spoke.hubURL"),
        (["spoke", "--region", "a", "--hub-url", "http://127.0.0.1:1", "--hub-token-file", "/nonexistent/hub.token"], [:], "spoke.hubTokenFile"),
        (["spoke", "--region", "a", "--max-wait-ms", "-1"], [:], "spoke.maxWaitMs"),
        (["hub", "--regions", "a", "--http-idle-timeout-ms", "soon"], [:], "--http-idle-timeout-ms"),
    ])
    func badInputIsNamed(args: [String], environment: [String: String], mention: String) async throws {
        let run = try await PaneCommand.run(args, environment: environment)
        #expect(run.status != 0)
        #expect(run.output.contains(mention), "output: \(run.output)")
    }

    @Test func configFileIsReadAndBadValuesInItAreNamed() async throws {
        let dir = try TestEnv.directory("cfg")
        let path = "\(dir)/pane.json"
        try #"{"hub": {"regions": "a,b", "http": "127.0.0.1:notaport"}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        let run = try await PaneCommand.run(["hub", "--config", path])
        #expect(run.status == 2)
        #expect(run.output.contains("hub.http") && run.output.contains("notaport"), "output: \(run.output)")
        try "{not json".write(toFile: path, atomically: true, encoding: .utf8)
        let broken = try await PaneCommand.run(["hub", "--config", path])
        #expect(broken.status == 2 && broken.output.contains(path), "output: \(broken.output)")
    }

    /// An admin command about a region that has no stream exits 2 and names the regions that do,
    /// instead of reporting "no dead letters" for a mistyped name.
    @Test(arguments: [
        ["dlq", "list"], ["dlq", "show", "1-0"], ["dlq", "purge", "--older-than", "1d"], ["resync", "--timeout-seconds", "1"],
    ])
    func adminRefusesARegionWithoutAStream(command: [String]) async throws {
        let known = try TestEnv.region("cli-known")
        let missing = try TestEnv.region("cli-missing")
        defer { TestEnv.cleanUp([known, missing]) }
        _ = try TestEnv.connection().xadd(key: known.keys.updates, id: "1-0", fields: [("probe", Array("1".utf8))])
        let run = try await PaneCommand.run(["admin"] + command + ["--region", missing.name, "--redis", try TestEnv.redis().description])
        #expect(run.status == 2, "output: \(run.output)")
        #expect(run.output.contains("region '\(missing.name)' has no stream"), "output: \(run.output)")
        #expect(run.output.contains(known.name), "output: \(run.output)")
    }

    @Test func helpListsTheSubcommands() async throws {
        let run = try await PaneCommand.run(["--help"])
        #expect(run.status == 0)
        for word in ["hub", "spoke", "dev"] { #expect(run.output.contains(word)) }
    }
}
