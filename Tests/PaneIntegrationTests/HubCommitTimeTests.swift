import Foundation
import GRDB
import PaneCore
import PaneStore
import PaneTestKit
import Testing

/// The hub's commit time in the outbox: µs for the stream entry (`ts_us`, issue 13), ms for
/// `updated_at`, and rows written without `ts_us` (by a hub from before migration v4) still
/// published, in µs.
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

    @Test func rowsWithoutMicrosecondsArePublishedInMicroseconds() async throws {
        let dir = try TestEnv.directory("commit-ms")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let region = try Region("r1")
        let path = "\(dir)/hub.sqlite"
        let store = try HubStore(path: path, regions: [region])
        // What a hub binary from before migration v4 writes: `ts` in ms, no `ts_us`.
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(
                sql: "INSERT INTO outbox(region, seq, id, version, op, body, ts) VALUES (?, 1, 'old', 1, 'put', ?, 1700000000123)",
                arguments: [region.name, Data("{}".utf8)])
        }
        try queue.close()
        let (updates, _) = try store.outbox(region: region, limit: 10)
        #expect(updates.map(\.hubTimeUs) == [1_700_000_000_123_000])
    }
}
