import Foundation
import GRDB
import GRDBSQLite
import PaneApp
import PaneCore
import PaneRuntime
import PaneStore
import PaneTestKit
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// ``WALWriteGathering`` writes a transaction's WAL frames at once, when its commit frame is
/// complete: a commit that another connection can see is in the file, whatever its size, and a
/// killed hub loses no write it answered.
@Suite struct WALWriteGatheringTests {
    @Test func everyCommitIsInTheFileWhenAnotherConnectionSeesIt() async throws {
        let dir = try TestEnv.directory("wal-gather")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/gather.sqlite"
        WALWriteGathering.install()
        try await BlockingThread.value(name: "test-gather") {
            // `synchronous = NORMAL`, as the spokes run: no sync at a commit writes the frames for it.
            var config = Configuration()
            config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
            let pool = try DatabasePool(path: path, configuration: config)
            let vfsName = try pool.writeWithoutTransaction { db -> String in
                try db.execute(sql: "CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)")
                var vfs: UnsafeMutablePointer<sqlite3_vfs>?
                sqlite3_file_control(db.sqliteConnection, nil, SQLITE_FCNTL_VFS_POINTER, &vfs)
                return vfs.map { String(cString: $0.pointee.zName) } ?? ""
            }
            #expect(vfsName == "pane-wal-gather")
            // Another connection, with its own file handles, as a reader in another process has.
            var reader: OpaquePointer?
            try #require(sqlite3_open_v2(path, &reader, SQLITE_OPEN_READONLY, nil) == SQLITE_OK)
            defer { sqlite3_close_v2(reader) }
            var statement: OpaquePointer?
            let query = "SELECT count(*), coalesce(sum(length(v)), 0), coalesce(max(k), -1) FROM t"
            try #require(sqlite3_prepare_v2(reader, query, -1, &statement, nil) == SQLITE_OK)
            defer { sqlite3_finalize(statement) }
            func seen() -> (rows: Int, bytes: Int, last: Int) {
                defer { sqlite3_reset(statement) }
                guard sqlite3_step(statement) == SQLITE_ROW else { return (-1, -1, -1) }
                return (Int(sqlite3_column_int64(statement, 0)), Int(sqlite3_column_int64(statement, 1)), Int(sqlite3_column_int64(statement, 2)))
            }
            var rows = 0
            var bytes = 0
            // One page, a few, more than one 120 KiB write (50 rows of 3,000 bytes), many pages.
            for (count, size) in [(1, 100), (7, 300), (50, 3_000), (200, 3_000), (3, 20), (400, 500)] {
                try pool.write { db in
                    for k in rows..<(rows + count) {
                        try db.execute(sql: "INSERT INTO t(k, v) VALUES (?, randomblob(?))", arguments: [k, size])
                    }
                }
                rows += count
                bytes += count * size
                let view = seen()
                #expect(view == (rows, bytes, rows - 1), "after \(count) rows of \(size) bytes the reader saw \(view)")
            }
            let check = try pool.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") }
            #expect(check == "ok")
        }
    }

    /// A hub killed while its writers keep writing: every write it answered is in the file,
    /// which SQLite opens and finds whole.
    @Test func aKilledHubLosesNoAnsweredWrite() async throws {
        let dir = try TestEnv.directory("wal-gather-kill")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let regions = [try Region("gather-a"), try Region("gather-b")]
        let hub = try HubProcess.start(regions: regions, dir: dir, extra: ["--insecure-no-auth"])
        defer { hub.child.stop(signal: SIGKILL) }
        #expect(await hub.ready())
        let answered = Answered()
        let writers = (0..<4).map { k in
            Task {
                await BlockingThread.run(name: "test-gather-writer-\(k)") {
                    let probe = HTTPProbe(port: hub.port, timeoutMs: 5_000)
                    let body = Array("{\"pad\":\"\(String(repeating: "g", count: 2_000))\"}".utf8)
                    for n in 0..<100_000 {
                        let id = "w\(k)-\(n % 300)"
                        guard let reply = try? probe.request("PUT", "/v1/contexts/\(id)", body: body, headers: ["Content-Type": "application/json"]),
                            reply.status == 200,
                            let version = (try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any])?["version"] as? Int
                        else { return }
                        answered.versions.withLock { $0[id] = Int64(version) }
                    }
                }
            }
        }
        #expect(await eventually(30, poll: 0.01) { answered.versions.withLock { $0.count } >= 600 }, "the writers got too few answers")
        hub.child.crash()
        for writer in writers { await writer.value }
        let kept = answered.versions.withLock { $0 }
        // Opened as a plain SQLite file: recovery from the WAL, then the check.
        let file = try DatabaseQueue(path: hub.db)
        let check = try await file.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") }
        #expect(check == "ok")
        let stored = try await file.read { db in
            try Dictionary(
                uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT id, version FROM contexts").map { ($0["id"] as String, $0["version"] as Int64) })
        }
        let lost = kept.filter { id, version in (stored[id] ?? 0) < version }
        #expect(lost.isEmpty, "\(lost.count) of \(kept.count) answered writes are not in the file: \(lost.prefix(5))")
    }

    /// The writers' answered versions, by context.
    final class Answered: Sendable {
        let versions = Mutex<[String: Int64]>([:])
    }
}
