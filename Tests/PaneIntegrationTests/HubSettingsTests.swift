import Foundation
import PaneApp
import PaneCore
import PaneHub
import PaneSpoke
import PaneTestKit
import Testing

/// The hub's settings as the configuration layers read them.
@Suite struct HubSettingsTests {
    func load(file: String, flags: [String: String] = [:]) async throws -> HubConfiguration {
        let dir = try TestEnv.directory("hub-settings")
        let path = "\(dir)/pane.json"
        try file.write(toFile: path, atomically: true, encoding: .utf8)
        let source = try await ConfigSource.load(flags: flags, configFile: path, environment: [:])
        return try HubConfiguration.load(from: source)
    }

    @Test func regionsAsAJSONArrayOfAnyLength() async throws {
        #expect(try await load(file: #"{"hub": {"regions": ["solo"]}}"#).regions.map(\.name) == ["solo"])
        #expect(try await load(file: #"{"hub": {"regions": ["a", "b"]}}"#).regions.map(\.name) == ["a", "b"])
        #expect(try await load(file: #"{"hub": {"regions": "a,b"}}"#).regions.map(\.name) == ["a", "b"])
        do {
            _ = try await load(file: #"{"hub": {"regions": []}}"#)
            Issue.record("an empty list of regions was accepted")
        } catch let error as PaneCore.ValidationError {
            #expect("\(error)".contains("hub.regions"), "\(error)")
        }
        do {
            _ = try await load(file: #"{"hub": {"regions": ["ok", "Not OK"]}}"#)
            Issue.record("a bad region name was accepted")
        } catch let error as PaneCore.ValidationError {
            #expect("\(error)".contains("hub.regions") && "\(error)".contains("Not OK"), "\(error)")
        }
    }

    @Test func resyncAndRetentionKeys() async throws {
        let defaults = try await load(file: #"{"hub": {"regions": "a"}}"#)
        #expect(defaults.resync.antiEntropyIntervalMs == 60_000)
        #expect(defaults.resync.retentionMaxEntries == 1_000_000)
        #expect(defaults.resync.retentionMaxAgeSeconds == 86_400)
        #expect(defaults.resync.snapshotTtlSeconds == 3_600)
        #expect(defaults.resync.replicaTimeoutMs == 300_000)
        let set = try await load(
            file: #"""
                {"hub": {"regions": "a", "antiEntropyIntervalMs": 500, "retentionMaxEntries": 10, "retentionMaxAgeSeconds": "0",
                 "snapshotTtlSeconds": 60, "replicaTimeoutMs": 2000, "retentionIntervalMs": 100}}
                """#)
        #expect(set.resync.antiEntropyIntervalMs == 500)
        #expect(set.resync.retentionMaxEntries == 10)
        #expect(set.resync.retentionMaxAgeSeconds == 0)
        #expect(set.resync.snapshotTtlSeconds == 60)
        #expect(set.resync.replicaTimeoutMs == 2_000)
        #expect(set.resync.retentionIntervalMs == 100)
        // The old key still works, as an alias that the new one overrides.
        #expect(try await load(file: #"{"hub": {"regions": "a", "streamMaxLength": 7}}"#).resync.retentionMaxEntries == 7)
        #expect(
            try await load(file: #"{"hub": {"regions": "a", "streamMaxLength": 7, "retentionMaxEntries": 9}}"#).resync.retentionMaxEntries == 9)
        do {
            _ = try await load(file: #"{"hub": {"regions": "a", "antiEntropyIntervalMs": 5}}"#)
            Issue.record("an interval of 5 ms was accepted")
        } catch let error as PaneCore.ValidationError {
            #expect("\(error)".contains("hub.antiEntropyIntervalMs"), "\(error)")
        }
    }

    /// The limits that keep forged entries and requests harmless: `hub.maxSnapshotsPerMinute`
    /// and `spoke.maxLagMs`, from a file, the environment and flags.
    @Test func snapshotLimitAndLagKeys() async throws {
        #expect(try await load(file: #"{"hub": {"regions": "a"}}"#).resync.maxSnapshotsPerMinute == 20)
        #expect(try await load(file: #"{"hub": {"regions": "a", "maxSnapshotsPerMinute": 3}}"#).resync.maxSnapshotsPerMinute == 3)
        do {
            _ = try await load(file: #"{"hub": {"regions": "a", "maxSnapshotsPerMinute": 0}}"#)
            Issue.record("a limit of 0 snapshots was accepted")
        } catch let error as PaneCore.ValidationError {
            #expect("\(error)".contains("hub.maxSnapshotsPerMinute"), "\(error)")
        }
        func spoke(flags: [String: String] = [:], environment: [String: String] = [:]) async throws -> SpokeConfiguration {
            let source = try await ConfigSource.load(flags: flags.merging(["spoke.region": "r"]) { a, _ in a }, configFile: nil, environment: environment)
            return try SpokeConfiguration.load(from: source)
        }
        #expect(try await spoke().maxLagMs == 30_000)
        #expect(try await spoke(environment: ["PANE_SPOKE_MAX_LAG_MS": "1500"]).maxLagMs == 1_500)
        #expect(try await spoke(flags: ["spoke.maxLagMs": "700"]).maxLagMs == 700)
        do {
            _ = try await spoke(flags: ["spoke.maxLagMs": "5"])
            Issue.record("a lag limit of 5 ms was accepted")
        } catch let error as PaneCore.ValidationError {
            #expect("\(error)".contains("spoke.maxLagMs"), "\(error)")
        }
    }
}
