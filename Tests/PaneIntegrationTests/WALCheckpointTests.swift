import Foundation
import GRDB
import GRDBSQLite
import PaneCore
import PaneRuntime
import PaneStore
import PaneTestKit
import Testing

/// The WAL's checkpoints run on a queue of their own (``WALCheckpointer``), not in the commit
/// that takes the WAL past its mark; the WAL stays bounded, and a commit stays as durable.
@Suite struct WALCheckpointTests {
    static func update(_ seq: UInt64) throws -> ContextUpdate {
        ContextUpdate(
            seq: seq, id: try ContextID("ckpt-\(seq)"), version: 1, op: .put,
            body: Array(String(repeating: "b", count: 600).utf8), hubTimeUs: WallClock.nowUs())
    }

    /// A replica's applies past the mark: the commit that crosses it returns without
    /// checkpointing, the background checkpoints, and the next commit restarts the WAL.
    @Test func aReplicaCheckpointsInTheBackgroundAndItsWALRestarts() async throws {
        let dir = try TestEnv.directory("ckpt-replica")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try ReplicaStore(path: "\(dir)/replica.sqlite")
        let checkpointer = store.checkpointer
        // SQLite's 1,000 pages: a larger mark's passes held up the hub's syncs (docs/benchmarks.md).
        #expect(checkpointer.thresholdFrames == 1_000)
        // The writer's pages stay cached between batches: 16 MiB (SQLite's default is 2 MiB).
        #expect(try store.writerCacheKiB() == 16_384)
        var seq = try await BlockingThread.value(name: "test-apply") {
            var seq: UInt64 = 0
            while checkpointer.framesAtLastCommit < checkpointer.thresholdFrames && seq < 1_000_000 {
                try store.apply(try (1...20).map { try Self.update(seq + $0) })
                seq += 20
            }
            return seq
        }
        #expect(checkpointer.framesAtLastCommit >= checkpointer.thresholdFrames)
        #expect(await eventually(20, poll: 0.01) { checkpointer.backgroundCheckpoints >= 1 }, "no checkpoint ran in the background")
        seq += 1
        let last = seq
        _ = try await BlockingThread.value(name: "test-apply") { try store.apply([try Self.update(last)]) }
        #expect(checkpointer.framesAtLastCommit < 100, "the WAL did not restart: \(checkpointer.framesAtLastCommit) frames")
        #expect(checkpointer.inlineCheckpoints == 0, "a commit checkpointed inline")
        #expect(try store.maxSeq() == seq)
    }

    /// Commits that never pause: a background pass cannot copy the commits made while it runs,
    /// so after ``WALCheckpointer/backgroundTries`` passes a commit copies the small rest, and
    /// the WAL keeps restarting instead of growing to the inline mark.
    @Test func aWALWrittenWithoutPauseKeepsRestarting() async throws {
        let dir = try TestEnv.directory("ckpt-busy")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let checkpointer = WALCheckpointer(path: "\(dir)/db.sqlite", thresholdFrames: 80, inlineFrames: 100_000)
        let (restarts, highest) = try await BlockingThread.value(name: "test-busy") {
            let pool = try DatabasePool(path: "\(dir)/db.sqlite")
            try pool.writeWithoutTransaction { db in
                checkpointer.install(on: db)
                try db.execute(sql: "CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)")
            }
            var restarts = 0
            var highest = 0
            var previous = 0
            for k in 0..<3_000 {
                try pool.write { db in try db.execute(sql: "INSERT OR REPLACE INTO t(k, v) VALUES (?, zeroblob(3000))", arguments: [k % 500]) }
                let frames = checkpointer.framesAtLastCommit
                if frames < previous { restarts += 1 }
                previous = frames
                highest = max(highest, frames)
            }
            return (restarts, highest)
        }
        #expect(checkpointer.backgroundCheckpoints >= 1)
        #expect(restarts >= 5, "the WAL restarted \(restarts) times; it reached \(highest) frames")
        #expect(checkpointer.inlineCheckpoints == 0)
    }

    /// A pass that could not copy everything (here a reader held an older snapshot) leaves a
    /// small rest: the next commit does not copy it itself, as it did before, but schedules
    /// another pass, which copies it in the pause after; the WAL then restarts with no commit
    /// having checkpointed (a commit that copies holds up every write queued behind it).
    @Test func aSmallRestIsCopiedInTheBackgroundWhenCommitsPause() async throws {
        let dir = try TestEnv.directory("ckpt-rest")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/db.sqlite"
        let checkpointer = WALCheckpointer(path: path, thresholdFrames: 80, inlineFrames: 100_000)
        #expect(checkpointer.finishFrames == 10)
        let pool = try await BlockingThread.value(name: "test-rest") { () throws -> DatabasePool in
            let pool = try DatabasePool(path: path)
            try pool.writeWithoutTransaction { db in
                checkpointer.install(on: db)
                try db.execute(sql: "CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)")
            }
            return pool
        }
        @Sendable func commit() throws {
            try pool.write { db in
                try db.execute(sql: "INSERT OR REPLACE INTO t(k, v) VALUES (?, zeroblob(100))", arguments: [Int.random(in: 0..<50)])
            }
        }
        try await BlockingThread.value(name: "test-rest") {
            while checkpointer.framesAtLastCommit < checkpointer.thresholdFrames - 6 { try commit() }
        }
        // A reader's snapshot a few frames short of the mark: the first pass can copy only up to it.
        var reader: OpaquePointer?
        #expect(sqlite3_open_v2(path, &reader, SQLITE_OPEN_READONLY, nil) == SQLITE_OK)
        defer { sqlite3_close_v2(reader) }
        #expect(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM t;", nil, nil, nil) == SQLITE_OK)
        try await BlockingThread.value(name: "test-rest") {
            while checkpointer.framesAtLastCommit < checkpointer.thresholdFrames { try commit() }
        }
        #expect(await eventually(30, poll: 0.01) { checkpointer.backgroundCheckpoints >= 1 }, "no background pass")
        #expect(sqlite3_exec(reader, "COMMIT", nil, nil, nil) == SQLITE_OK)
        // The rest is within the eighth a commit used to copy itself; this commit schedules a pass.
        try await BlockingThread.value(name: "test-rest") { try commit() }
        #expect(checkpointer.framesAtLastCommit >= checkpointer.thresholdFrames)
        #expect(await eventually(30, poll: 0.01) { checkpointer.backgroundCheckpoints >= 2 }, "no second pass")
        try await BlockingThread.value(name: "test-rest") { try commit() }
        #expect(checkpointer.framesAtLastCommit < 10, "the WAL did not restart: \(checkpointer.framesAtLastCommit) frames")
        #expect(checkpointer.finishingCheckpoints == 0, "a commit copied the rest itself")
        #expect(checkpointer.inlineCheckpoints == 0)
    }

    /// When the background cannot checkpoint (here: its file cannot be opened), the commit that
    /// takes the WAL to the inline mark checkpoints itself, so the WAL stays bounded anyway.
    @Test func aCommitCheckpointsInlineWhenTheBackgroundCannot() async throws {
        let dir = try TestEnv.directory("ckpt-inline")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let checkpointer = WALCheckpointer(path: "\(dir)/missing/db.sqlite", thresholdFrames: 20, inlineFrames: 60)
        let (highest, rows) = try await BlockingThread.value(name: "test-inline") {
            let pool = try DatabasePool(path: "\(dir)/db.sqlite")
            try pool.writeWithoutTransaction { db in
                checkpointer.install(on: db)
                try db.execute(sql: "CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)")
            }
            var highest = 0
            for k in 0..<400 {
                try pool.write { db in try db.execute(sql: "INSERT INTO t(k, v) VALUES (?, zeroblob(3000))", arguments: [k]) }
                highest = max(highest, checkpointer.framesAtLastCommit)
            }
            return (highest, try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM t") })
        }
        #expect(checkpointer.inlineCheckpoints >= 1, "no commit checkpointed inline")
        #expect(highest <= 60 + 4, "the WAL grew to \(highest) frames past the inline mark")
        #expect(checkpointer.framesAtLastCommit < 60)
        #expect(rows == 400)
    }

    /// `hub.durability full`: with the checkpoints moved off the commit path, every commit still
    /// syncs the WAL itself (`synchronous` FULL), and every acknowledged write is in the file when
    /// it is opened again, across a background checkpoint.
    @Test func aHubCommitStaysDurableAcrossBackgroundCheckpoints() async throws {
        let dir = try TestEnv.directory("ckpt-hub")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/hub.sqlite"
        let regions = [try Region("ckpt-a"), try Region("ckpt-b"), try Region("ckpt-c")]
        let body = Array(String(repeating: "h", count: 900).utf8)
        var versions: [String: Int64] = [:]
        do {
            let store = try HubStore(path: path, regions: regions, durability: .full)
            let checkpointer = store.checkpointer
            #expect(try store.writerSynchronous() == 2, "the commit no longer syncs itself")
            #expect(checkpointer.thresholdFrames == 10_000)
            var i = 0
            while checkpointer.framesAtLastCommit < checkpointer.thresholdFrames && i < 200_000 {
                let batch = try (0..<50).map { k in BatchOperation(op: .put, id: try ContextID("h-\((i + k) % 5_000)"), body: body) }
                for write in try await store.batch(batch) { versions[write.id.value] = write.version }
                i += 50
            }
            #expect(await eventually(20, poll: 0.01) { checkpointer.backgroundCheckpoints >= 1 }, "no background checkpoint after \(i) writes")
            let last = try await store.put(id: try ContextID("h-last"), body: body)
            versions["h-last"] = last.version
            #expect(checkpointer.framesAtLastCommit < 1_000, "the WAL did not restart: \(checkpointer.framesAtLastCommit) frames")
            #expect(checkpointer.inlineCheckpoints == 0)
            #expect(try store.writerSynchronous() == 2)
        }
        let reopened = try HubStore(path: path, regions: regions, durability: .full)
        for (id, version) in versions {
            #expect(try await reopened.get(id: try ContextID(id))?.version == version, "\(id)")
        }
    }
}
