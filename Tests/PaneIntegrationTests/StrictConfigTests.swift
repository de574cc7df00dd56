import Foundation
import PaneApp
import PaneCore
import PaneHub
import PaneSpoke
import PaneTestKit
import Testing

/// Strict configuration (issue 11): unknown keys and `PANE_…` variables are errors that name
/// the nearest key, JSON errors give a line and column, and `pane config check|sample` and
/// `pane --version` answer.
@Suite struct StrictConfigTests {
    static var sampleFile: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../ops/pane.sample.json").standardized.path
    }

    func file(_ text: String) throws -> String {
        let path = "\(try TestEnv.directory("strict"))/pane.json"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func anUnknownKeyInTheFileNamesTheNearestKnownOne() async throws {
        let path = try file(#"{"hub": {"regionz": "a"}}"#)
        let run = try await PaneCommand.run(["hub", "--config", path])
        #expect(run.status == 2)
        #expect(run.output.contains("pane: unknown key hub.regionz in \(path); did you mean hub.regions?"), "\(run.output)")
        let nested = try await PaneCommand.run(["spoke", "--region", "a", "--config", try file(#"{"spoke": {"batchSize": 5}, "dlq": {"maxLen": 3}}"#)])
        #expect(nested.status == 2 && nested.output.contains("unknown key dlq.maxLen") && nested.output.contains("did you mean dlq.maxLength?"), "\(nested.output)")
    }

    @Test func regionRedisKeysAndNullsAreAccepted() async throws {
        let path = try file(#"{"redis": {"region": {"eu-west-1": "redis://10.0.0.5:6379"}}, "hub": {"regions": "eu-west-1", "tokensFile": null}}"#)
        let source = try await ConfigSource.load(flags: [:], configFile: path, environment: ["PANE_REDIS_REGION_US_EAST_1": "redis://10.0.0.6:6379"])
        let hub = try HubConfiguration.load(from: source)
        #expect(hub.redisByRegion[try Region("eu-west-1")]?.host == "10.0.0.5")
        #expect(hub.tokensFile == nil)
    }

    @Test func anUnknownVariableNamesTheNearestKnownOne() async throws {
        let run = try await PaneCommand.run(["spoke", "--region", "a"], environment: ["PANE_SPOKE_BATCH_SIZ": "5"])
        #expect(run.status == 2)
        #expect(
            run.output.contains("pane: unknown environment variable PANE_SPOKE_BATCH_SIZ; did you mean PANE_SPOKE_BATCH_SIZE (spoke.batchSize)?"),
            "\(run.output)")
    }

    /// The variables the code, the scripts and the tests use besides the settings' own.
    @Test func allowedVariablesAreNotErrors() async throws {
        let environment = [
            "PANE_FAULT_WHATEVER": "1", "PANE_TEST_ANYTHING": "x", "PANE_TOKEN_FILE": "/nonexistent", "PANE_BIN": "/bin/true",
            "PANE_REDIS_REGION_EU_WEST_1": "redis://127.0.0.1:1", "PANE_HUB_BATCH_SIZE": "10",
        ]
        let run = try await PaneCommand.run(["config", "check"], environment: environment)
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("redis.region.eu-west-1") && run.output.contains("environment PANE_REDIS_REGION_EU_WEST_1"), "\(run.output)")
        for name in StrictSettings.otherVariables { #expect(StrictSettings.isKnownVariable(name)) }
        #expect(!StrictSettings.isKnownVariable("PANE_REDIS_REGION_"))
        #expect(!StrictSettings.isKnownVariable("PANE_HUB"))
    }

    @Test func jsonSyntaxErrorsGiveLineAndColumn() async throws {
        let path = try file("{\n  \"hub\": {\n    \"regions\": \"a\",,\n  }\n}\n")
        let run = try await PaneCommand.run(["hub", "--config", path])
        #expect(run.status == 2)
        #expect(run.output.contains("pane: config file \(path) is not valid JSON: line 3, column 20: expected a key in quotes"), "\(run.output)")
        #expect(!run.output.contains("NSCocoaErrorDomain"), "\(run.output)")
        let notAnObject = try await PaneCommand.run(["config", "check", "--config", try file("[1, 2]")])
        #expect(notAnObject.status == 2 && notAnObject.output.contains("must hold one JSON object"), "\(notAnObject.output)")
    }

    @Test func versionIsPrinted() async throws {
        let run = try await PaneCommand.run(["--version"])
        #expect(run.status == 0)
        #expect(run.output.trimmingCharacters(in: .whitespacesAndNewlines) == PaneVersion.number)
    }

    /// Each setting says where it came from, flags over environment over file over defaults;
    /// a password in a Redis URL never shows.
    @Test func configCheckShowsEachValueAndWhereItCameFrom() async throws {
        let path = try file(#"{"hub": {"regions": "a,b", "batchSize": 7, "db": "from-file.sqlite"}, "spoke": {"blockMs": 30}}"#)
        let run = try await PaneCommand.run(
            ["config", "check", "--config", path, "--log-level", "debug"],
            environment: ["PANE_HUB_DB": "from-env.sqlite", "PANE_REDIS_URL": "redis://127.0.0.1:6390"])
        #expect(run.status == 0, "\(run.output)")
        func line(_ key: String) -> String { run.output.split(separator: "\n").first { $0.hasPrefix(key + " ") }.map(String.init) ?? "" }
        #expect(line("log.level").contains("debug") && line("log.level").hasSuffix("flag"), "\(run.output)")
        #expect(line("hub.db").contains("from-env.sqlite") && line("hub.db").hasSuffix("environment PANE_HUB_DB"))
        #expect(line("hub.batchSize").contains("7") && line("hub.batchSize").hasSuffix("file \(path)"))
        #expect(line("hub.regions").contains("a,b"))
        #expect(line("spoke.batchSize").contains("500") && line("spoke.batchSize").hasSuffix("default"))
        #expect(line("redis.url").contains("redis://127.0.0.1:6390") && line("redis.url").hasSuffix("environment PANE_REDIS_URL"))
        for setting in SettingCatalog.all { #expect(!line(setting.key).isEmpty, "\(setting.key) missing") }
        // A password in a Redis URL is masked, in the table and in an error.
        let secret = try await PaneCommand.run(["config", "check", "--config", path, "--redis", "redis://admin:hunter2@127.0.0.1:6379"])
        #expect(secret.status == 0 && secret.output.contains("redis://admin:****@127.0.0.1:6379"), "\(secret.output)")
        #expect(secret.output.contains("redis.url"), "\(secret.output)")
        #expect(!secret.output.contains("hunter2"), "\(secret.output)")
        let badSecret = try await PaneCommand.run(["config", "check", "--config", path, "--redis", "redis://admin:hunter2@127.0.0.1:99999"])
        #expect(badSecret.status == 2 && badSecret.output.contains("redis://admin:****@127.0.0.1:99999"), "\(badSecret.output)")
        #expect(!badSecret.output.contains("hunter2"), "\(badSecret.output)")
        // A bad value is checked as `pane hub` would.
        let bad = try await PaneCommand.run(["config", "check", "--config", try file(#"{"hub": {"regions": "a", "http": "nope"}}"#)])
        #expect(bad.status == 2 && bad.output.contains("hub.http"), "\(bad.output)")
    }

    /// `ops/pane.sample.json` is exactly what `pane config sample` prints, so it cannot drift
    /// from the code's list of settings, and it passes the strict check.
    @Test func theSampleFileIsTheCodesListOfSettings() async throws {
        let run = try await PaneCommand.run(["config", "sample"])
        #expect(run.status == 0)
        let shipped = try String(contentsOfFile: Self.sampleFile, encoding: .utf8)
        #expect(run.output == shipped, "ops/pane.sample.json differs from `pane config sample`; regenerate it")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(shipped.utf8)) as? [String: [String: Any]])
        let keys = object.flatMap { section, values in values.keys.map { "\(section).\($0)" } }.filter { $0 != "redis.region" }
        #expect(Set(keys) == Set(SettingCatalog.all.map(\.key)))
        let check = try await PaneCommand.run(["config", "check", "--config", Self.sampleFile])
        #expect(check.status == 0, "\(check.output)")
    }

    /// The catalog's defaults (the sample's values) are the ones the code uses.
    @Test func theCatalogsDefaultsAreTheCodes() async throws {
        let fromSample = try await ConfigSource.load(flags: [SettingKey.regions: "a", SettingKey.spokeRegion: "a"], configFile: Self.sampleFile, environment: [:])
        let bare = try await ConfigSource.load(flags: [SettingKey.regions: "a", SettingKey.spokeRegion: "a"], configFile: nil, environment: [:])
        let hubs = (try HubConfiguration.load(from: fromSample), try HubConfiguration.load(from: bare))
        let spokes = (try SpokeConfiguration.load(from: fromSample), try SpokeConfiguration.load(from: bare))
        #expect(hubs.0.publisher.batchSize == hubs.1.publisher.batchSize)
        #expect(hubs.0.resync.antiEntropyIntervalMs == hubs.1.resync.antiEntropyIntervalMs)
        #expect(hubs.0.resync.retentionMaxEntries == hubs.1.resync.retentionMaxEntries)
        #expect(hubs.0.resync.retentionMaxAgeSeconds == hubs.1.resync.retentionMaxAgeSeconds)
        #expect(hubs.0.resync.replicaTimeoutMs == hubs.1.resync.replicaTimeoutMs)
        #expect(hubs.0.resync.snapshotTtlSeconds == hubs.1.resync.snapshotTtlSeconds)
        #expect(hubs.0.resync.retentionIntervalMs == hubs.1.resync.retentionIntervalMs)
        #expect(hubs.0.httpPort == hubs.1.httpPort && hubs.0.httpHost == hubs.1.httpHost && hubs.0.databasePath == hubs.1.databasePath)
        #expect("\(hubs.0.defaultRedis)" == "\(hubs.1.defaultRedis)")
        #expect(hubs.0.bodyRules.maxBytes == hubs.1.bodyRules.maxBytes)
        #expect(spokes.0.batchSize == spokes.1.batchSize && spokes.0.blockMs == spokes.1.blockMs)
        #expect(spokes.0.delivery.maxDeliveries == spokes.1.delivery.maxDeliveries)
        #expect(spokes.0.claimIdleMs == spokes.1.claimIdleMs && spokes.0.consumerIdleMs == spokes.1.consumerIdleMs)
        #expect(spokes.0.digestIntervalMs == spokes.1.digestIntervalMs)
        #expect(spokes.0.gaps.stallMs == spokes.1.gaps.stallMs && spokes.0.gaps.requestTimeoutMs == spokes.1.gaps.requestTimeoutMs)
        #expect(spokes.0.deadLetterMaxLength == spokes.1.deadLetterMaxLength && spokes.0.deadLetterMaxAgeMs == spokes.1.deadLetterMaxAgeMs)
        #expect(spokes.0.httpPort == spokes.1.httpPort && spokes.0.replica == spokes.1.replica)
    }
}
