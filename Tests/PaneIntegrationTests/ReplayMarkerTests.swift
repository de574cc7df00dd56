import Foundation
import PaneCore
import PaneRedis
import PaneTestKit
import Testing

/// Republished and replayed entries carry the `replay` marker, so a spoke counts them apart and
/// its replication-lag histogram records only first deliveries.
@Suite struct ReplayMarkerTests {
    /// The sum of the lag histogram's `_count` lines of one spoke's metrics page.
    static func lagSamples(_ metrics: String) -> Double {
        metrics.split(separator: "\n")
            .filter { $0.hasPrefix("pane_spoke_replication_lag") && $0.contains("_count") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
            .reduce(0, +)
    }

    /// The value of the replay counter on one spoke's metrics page, `nil` when it is not there.
    static func replayed(_ metrics: String) -> Double? {
        metrics.split(separator: "\n")
            .first { $0.hasPrefix("pane_spoke_replayed_entries_total{") }
            .flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }
    }

    @Test func republishedEntriesAreMarkedAndNotCountedAsLag() async throws {
        try await TestScene.withHub("replay-marker") { scene, hub in
            let spoke = try scene.spoke("a")
            let id = try ContextID("marked")
            _ = try await hub.store.put(id: id, body: Array("{\"v\":1}".utf8))
            #expect(try await scene.converges(hub, spoke).converged)
            let metrics = { (try? spoke.probe().get("/metrics").text) ?? "" }
            #expect(await eventually(10) { Self.lagSamples(metrics()) == 1 }, "\(metrics())")
            #expect(Self.replayed(metrics()) == 0, "the counter starts at 0: \(metrics())")

            let result = try await hub.store.republish(ids: [id], region: scene.region)
            #expect(result.republished == [id])
            #expect(await eventually(20) { Self.replayed(metrics()) == 1 }, "\(metrics())")
            #expect(Self.lagSamples(metrics()) == 1, "a replay is not a lag sample: \(metrics())")

            // The stream holds the re-sent entry marked, after the first one unmarked (unless
            // retention trimmed that one already: every replica had applied it).
            let entries = try scene.connection().xrange(key: scene.region.keys.updates)
            let marks = entries.map { entry in (entry.fields ?? []).first { $0.0 == "replay" }.map { String(decoding: $0.1, as: UTF8.self) } }
            #expect(marks.last == "1" && marks.dropLast().allSatisfy { $0 == nil } && marks.count <= 2, "\(marks)")

            // A fresh write after the replay is a lag sample again.
            _ = try await hub.store.put(id: id, body: Array("{\"v\":2}".utf8))
            #expect(await eventually(20) { Self.lagSamples(metrics()) == 2 }, "\(metrics())")
            #expect(Self.replayed(metrics()) == 1)
        }
    }
}
