import Foundation
import PaneCore
import PaneStore
import PaneTestKit
import Testing

/// The hub's commit time in the outbox: µs for the stream entry (`ts_us`, issue 13), ms for
/// `updated_at`. Rows written without `ts_us` (by a hub from before migration v4) are published
/// in µs: since migration v7 no binary writes such rows, and `HubSchemaTests` checks that the
/// migration carries them over as `ts × 1000`.
@Suite struct HubCommitTimeTests {
    @Test func outboxCarriesMicrosecondsThatAgreeWithUpdatedAt() async throws {
        let dir = try TestEnv.directory("commit-us")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let region = try Region("r1")
        let store = try HubStore(path: "\(dir)/hub.sqlite", regions: [region])
        let before = WallClock.nowUs()
        let write = try await store.put(id: try ContextID("a"), body: Array("{}".utf8))
        let after = WallClock.nowUs()
        let (updates, _) = try store.outbox(region: region, limit: 10)
        let update = try #require(updates.first)
        #expect(update.seq == write.seqs[region])
        #expect((before...after).contains(update.hubTimeUs), "a µs time, read while the write ran")
        let stored = try #require(try await store.get(id: try ContextID("a")))
        #expect(stored.updatedAtMs == update.hubTimeUs / 1000, "one clock reading: updated_at is tsus in whole ms")
    }
}
