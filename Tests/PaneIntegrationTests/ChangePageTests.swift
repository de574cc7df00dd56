import Foundation
import PaneCore
import PaneTestKit
import Testing

@testable import PaneStore

/// A page of "what changed after N" merges the live rows with the removals: when the merge is
/// cut at the page size, the page is full, so a watcher reads on from its last row instead of
/// taking the counter for its position and missing the rows cut off.
@Suite struct ChangePageTests {
    static func put(_ seq: UInt64, _ id: String, _ version: Int64) throws -> ContextUpdate {
        ContextUpdate(seq: seq, id: try ContextID(id), version: version, op: .put, body: Array(#"{"s":\#(seq)}"#.utf8), hubTimeUs: 5_000_000)
    }

    @Test func aMergedPageCutAtTheLimitIsFull() throws {
        let dir = try TestEnv.directory("change-page-cut")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try ReplicaStore(path: "\(dir)/replica.sqlite")
        // x1..x4, then a snapshot that keeps x1 and x2 (x3 and x4 are removed), then y1.
        try store.apply((1...4).map { try Self.put(UInt64($0), "x\($0)", 1) })
        let announcement = SnapshotAnnouncement(
            key: "pane:{cut}:snapshot:1", epoch: 1, seq: 4, chunks: 1, rows: 0, replicas: nil, buckets: nil, requestIDs: ["r1"], reason: "test")
        let kept = try ["x1", "x2"].map { id in
            SnapshotRow(id: try ContextID(id), version: 1, deleted: false, body: Array(#"{"s":1}"#.utf8), hubTimeMs: 1, seq: 1, bodyMissing: false)
        }
        try store.applySnapshotChunk(kept, announcement: announcement, index: 0, requestID: "r1")
        #expect(try store.finishSnapshot(announcement, entrySeq: 5, rows: kept.count).removed == 2)
        try store.apply([try Self.put(6, "y1", 1)])

        // 3 live rows and 2 removals after the start: neither list reaches 4, the merge does.
        let page = try store.reader.changes(prefix: "", after: -1, limit: 4)
        #expect(page.rows.count == 4)
        #expect(page.full, "the merged page was cut at its limit: it must say it is full")
        // Reading on from the page's last row finds the row that was cut off.
        let last = try #require(page.rows.last).change
        let next = try store.reader.changes(prefix: "", after: last, limit: 4)
        var seen = Set(page.rows.map(\.id))
        seen.formUnion(next.rows.map(\.id))
        #expect(seen == ["x1", "x2", "x3", "x4", "y1"])
    }
}
