import Foundation
import GRDB
import PaneCore
import PaneRuntime
import PaneStore
import PaneTestKit
import Testing

/// A snapshot chunk is written several rows per statement (``ReplicaStore`` binds 32 rows to one
/// upsert): the file must end exactly as when each row is its own statement, whatever the rows
/// meet (repairs, rows written after the snapshot, rows without a body, an id twice in a chunk).
@Suite struct SnapshotChunkApplyTests {
    static let snapshotSeq: UInt64 = 1_000
    static let epoch: Int64 = 77

    static func announcement() -> SnapshotAnnouncement {
        SnapshotAnnouncement(
            key: "pane:{chunk}:snapshot:77", epoch: epoch, seq: snapshotSeq, chunks: 1, rows: 0, replicas: nil, buckets: nil,
            requestIDs: ["r1"], reason: "test")
    }

    /// What the replica holds before the snapshot: a tampered row (written at or below the
    /// snapshot's seq), a row written after it, an identical row, a row a body-less snapshot row names.
    static func before(_ store: ReplicaStore) throws {
        func put(_ seq: UInt64, _ id: String, _ version: Int64, _ body: String) throws -> ContextUpdate {
            ContextUpdate(seq: seq, id: try ContextID(id), version: version, op: .put, body: Array(body.utf8), hubTimeUs: 5_000_000)
        }
        try store.apply([
            try put(5, "chunk-007", 3, "tampered"), try put(2_000, "chunk-020", 9, "newer"),
            try put(10, "chunk-030", 2, "body-30"), try put(11, "chunk-050", 1, "kept"),
        ])
    }

    /// 100 rows in id order (three full statements and the rest), with body-less rows at 10, 40
    /// and the last place, and chunk-060 twice in a row (version 2, then 3) inside one statement.
    static func rows() throws -> [SnapshotRow] {
        var rows: [SnapshotRow] = []
        for i in 0..<100 {
            let id = try ContextID(String(format: "chunk-%03d", i))
            let missing = i == 10 || i == 40 || i == 50 || i == 99
            rows.append(
                SnapshotRow(
                    id: id, version: 2, deleted: i == 70, body: missing || i == 70 ? [] : Array("body-\(i)".utf8), hubTimeMs: 9_000 + Int64(i),
                    seq: UInt64(i + 1), bodyMissing: missing))
            if i == 60 {
                rows.append(SnapshotRow(id: id, version: 3, deleted: false, body: Array("body-60-again".utf8), hubTimeMs: 9_999, seq: 900))
            }
        }
        return rows
    }

    struct Stored: Equatable, CustomStringConvertible {
        var id: String, version: Int64, deleted: Bool, body: String, hubTs: Int64, seq: Int64, epoch: Int64, change: Int64
        var description: String { "\(id) v\(version) d\(deleted) \(body) ts\(hubTs) seq\(seq) e\(epoch) c\(change)" }
    }

    static func stored(_ path: String) throws -> [Stored] {
        let queue = try DatabaseQueue(path: path)
        return try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT id, version, deleted, body, hub_ts, seq, synced_epoch, change FROM contexts ORDER BY id").map {
                Stored(
                    id: $0["id"], version: $0["version"], deleted: $0["deleted"], body: String(decoding: $0["body"] as Data, as: UTF8.self),
                    hubTs: $0["hub_ts"], seq: $0["seq"], epoch: $0["synced_epoch"], change: $0["change"])
            }
        }
    }

    @Test func aChunkWrittenManyRowsPerStatementEndsAsOneRowPerStatement() async throws {
        let dir = try TestEnv.directory("chunk-apply")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (whole, single) = try await BlockingThread.value(name: "test-chunk") {
            let rows = try Self.rows()
            let wholePath = "\(dir)/whole.sqlite"
            let wholeStore = try ReplicaStore(path: wholePath)
            try Self.before(wholeStore)
            try wholeStore.applySnapshotChunk(rows, announcement: Self.announcement(), index: 0, requestID: nil)
            let singlePath = "\(dir)/single.sqlite"
            let singleStore = try ReplicaStore(path: singlePath)
            try Self.before(singleStore)
            for row in rows { try singleStore.applySnapshotChunk([row], announcement: Self.announcement(), index: 0, requestID: nil) }
            return (try Self.stored(wholePath), try Self.stored(singlePath))
        }
        #expect(whole == single)
        for (a, b) in zip(whole, single) where a != b { Issue.record("differs: \(a) against \(b)") }
        let byID = Dictionary(uniqueKeysWithValues: whole.map { ($0.id, $0) })
        // 100 ids, less the body-less rows of ids the replica did not hold (10, 40, 99).
        #expect(whole.count == 97)
        #expect(byID["chunk-007"].map { ($0.version, $0.body, $0.seq) } ?? (0, "", 0) == (2, "body-7", 8), "the tampered row was not repaired")
        #expect(byID["chunk-020"].map { ($0.version, $0.body, $0.seq) } ?? (0, "", 0) == (9, "newer", 2_000), "a newer row was replaced")
        #expect(byID["chunk-050"].map { ($0.body, $0.epoch) } ?? ("", 0) == ("kept", Self.epoch), "a body-less row was not stamped")
        #expect(byID["chunk-060"].map { ($0.version, $0.body, $0.seq) } ?? (0, "", 0) == (3, "body-60-again", 900))
        #expect(byID["chunk-070"].map { ($0.deleted, $0.body) } ?? (false, "x") == (true, ""))
        let row98 = byID["chunk-098"].map { ($0.version, $0.body, $0.hubTs, $0.seq, $0.epoch) } ?? (0, "", 0, 0, 0)
        #expect(row98 == (2, "body-98", 9_098, 99, Self.epoch))
        // Rows take change numbers in chunk order.
        let fresh = whole.filter { !["chunk-007", "chunk-020", "chunk-030", "chunk-050", "chunk-060"].contains($0.id) }
        #expect(fresh.map(\.change) == fresh.map(\.change).sorted() && Set(fresh.map(\.change)).count == fresh.count)
    }
}
