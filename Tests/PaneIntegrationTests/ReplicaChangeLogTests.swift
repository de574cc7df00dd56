import Foundation
import GRDB
import PaneCore
import PaneRuntime
import PaneTestKit
import Testing

@testable import PaneStore

/// The replica's change log table (schema v7, ``ChangeLogTable``): reads of "what changed after
/// N" give what the `contexts_change` index gave (the rows of `contexts` whose change is after N,
/// in change order, and the removals), the log's superseded rows are trimmed, and a file of the
/// schema before it is migrated with the same reads.
@Suite struct ReplicaChangeLogTests {
    /// What the replica answered before schema v7 for "after `after` under `prefix`": the live
    /// rows and tombstones of `contexts` whose change is greater, then the removals of rows no
    /// longer in `contexts`, in change order (the v6 reader's two queries, unpaged).
    static func oracle(_ db: Database, prefix: String, after: Int64) throws -> [ChangeRow] {
        let filter = prefix.isEmpty ? "" : " AND id >= ? AND id < ?"
        var arguments: StatementArguments = [after]
        if !prefix.isEmpty { arguments += [prefix, ReplicaStore.upperBound(ofPrefix: prefix)] }
        let live = try Row.fetchAll(
            db, sql: "SELECT id, version, deleted, body, change FROM contexts WHERE change > ?\(filter) ORDER BY change", arguments: arguments
        ).map {
            ChangeRow(id: $0["id"], version: $0["version"], deleted: ($0["deleted"] as Int64) != 0, body: [UInt8]($0["body"] as Data), change: $0["change"])
        }
        let removed = try Row.fetchAll(
            db,
            sql: """
                SELECT id, version, change FROM removals AS r WHERE change > ?\(filter)
                AND NOT EXISTS (SELECT 1 FROM contexts AS c WHERE c.id = r.id) ORDER BY change
                """,
            arguments: arguments
        ).map { ChangeRow(id: $0["id"], version: $0["version"], deleted: true, body: [], change: $0["change"]) }
        return (live + removed).sorted { $0.change < $1.change }
    }

    /// The reader's answer for "after `after` under `prefix`", read in pages of `pageSize` until
    /// a page is not full, as the change feed reads it.
    static func paged(_ reader: ReplicaReader, prefix: String, after: Int64, pageSize: Int = 7) throws -> [ChangeRow] {
        var rows: [ChangeRow] = []
        var cursor = after
        while true {
            let page = try reader.changes(prefix: prefix, after: cursor, limit: pageSize)
            rows += page.rows
            if let last = page.rows.last { cursor = last.change }
            if !page.full { return rows }
        }
    }

    static func put(_ seq: UInt64, _ id: String, _ version: Int64, _ op: ContextOp = .put) throws -> ContextUpdate {
        ContextUpdate(
            seq: seq, id: try ContextID(id), version: version, op: op, body: op == .put ? Array(#"{"s":\#(seq)}"#.utf8) : [],
            hubTimeUs: 5_000_000)
    }

    static func count(_ store: ReplicaStore, _ sql: String) throws -> Int {
        try store.pool.read { db in try Int.fetchOne(db, sql: sql) ?? -1 }
    }

    /// 80 contexts under two prefixes, 3,400 writes (puts, tombstones, batch entries) in batches
    /// of 17, a snapshot that removes five of them halfway (two written again later): every read
    /// after every kept position gives the v6 answer, a watcher that started before the trims
    /// ran gets it too, and the log holds about the live rows, never every write.
    /// Expectations checked on a blocking thread (outside the test's task), reported by the test.
    final class Checks {
        var failures: [String] = []

        func expect(_ ok: Bool, _ message: @autoclosure () -> String = "", line: Int = #line) {
            if !ok { failures.append("line \(line): \(message())") }
        }
    }

    @Test func readsAfterAnyPositionAreTheIndexsAndTheLogIsTrimmed() async throws {
        let dir = try TestEnv.directory("change-log")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let failures = try await BlockingThread.value(name: "test-change-log") { () throws -> [String] in
            let checks = Checks()
            let store = try ReplicaStore(path: "\(dir)/replica.sqlite")
            let ids = (0..<80).map { String(format: "log/%@-%02d", $0 < 40 ? "a" : "b", $0 % 40) }
            var versions: [String: Int64] = [:]
            var generator = SystemRandomNumberGenerator()
            var seq: UInt64 = 0
            var positions: [Int64] = [-1, 0]
            var early: ChangeFeed?
            var written = ids
            func write(_ n: Int) throws {
                for _ in 0..<(n / 17) {
                    var batch: [ContextUpdate] = []
                    for _ in 0..<17 {
                        seq += 1
                        let id = written.randomElement(using: &generator)!
                        let version = versions[id, default: 0] + 1
                        versions[id] = version
                        if seq % 50 == 0 {
                            // A batch entry: this id and the next, in one entry.
                            let other = written[(written.firstIndex(of: id)! + 1) % written.count]
                            let otherVersion = versions[other, default: 0] + 1
                            versions[other] = otherVersion
                            let rows = [try Self.put(seq, id, version), try Self.put(seq, other, otherVersion, .del)]
                            batch.append(
                                ContextUpdate(
                                    seq: seq, id: rows[0].id, version: version, op: .batch,
                                    body: BatchEntryCodec.encode(rows.map { ($0.op, $0.id, $0.version, $0.body) }), hubTimeUs: 5_000_000,
                                    operations: rows))
                        } else {
                            batch.append(try Self.put(seq, id, version, seq % 9 == 0 ? .del : .put))
                        }
                    }
                    try store.apply(batch)
                    if seq % 340 == 0 { positions.append(try store.reader.changeLog().log.change) }
                }
            }
            try write(170)
            // A watcher 170 changes in, before any trim ran, read only at the end.
            let earlyLog = try store.reader.changeLog().log
            let earlyFrom = earlyLog.change
            early = try store.changeFeed(prefix: "log/a-", after: WatchPosition(file: earlyLog.file, change: earlyFrom), pageSize: 5)
            try write(1_700)
            // A full snapshot at the current seq that lacks five contexts: they are removed.
            let removedIDs = Array(ids.prefix(3) + ids.suffix(2))
            let announcement = SnapshotAnnouncement(
                key: "pane:{log}:snapshot:9", epoch: 9, seq: seq, chunks: 1, rows: 0, replicas: nil, buckets: nil, requestIDs: ["r9"],
                reason: "test")
            let kept = try ids.filter { !removedIDs.contains($0) }.map { id in
                SnapshotRow(
                    id: try ContextID(id), version: versions[id, default: 1], deleted: false, body: Array(#"{"snap":1}"#.utf8), hubTimeMs: 1, seq: 1,
                    bodyMissing: false)
            }
            try store.applySnapshotChunk(kept, announcement: announcement, index: 0, requestID: "r9")
            seq += 1
            checks.expect(try store.finishSnapshot(announcement, entrySeq: seq, rows: kept.count).removed == 5)
            positions.append(try store.reader.changeLog().log.change)
            // Two removed contexts are written again; the other three stay removed.
            for id in removedIDs { versions[id] = (versions[id] ?? 0) + 100 }
            written = ids.filter { !removedIDs[1...3].contains($0) }
            try store.apply([try Self.put(seq + 1, removedIDs[0], versions[removedIDs[0]]!), try Self.put(seq + 2, removedIDs[4], versions[removedIDs[4]]!)])
            seq += 2
            try write(1_530)
            positions.append(try store.reader.changeLog().log.change)

            for after in positions {
                for prefix in ["", "log/a-", "log/b-1", "log/c"] {
                    let expected = try store.pool.read { db in try Self.oracle(db, prefix: prefix, after: after) }
                    let got = try Self.paged(store.reader, prefix: prefix, after: after)
                    checks.expect(got == expected, "after \(after) under '\(prefix)': \(got.count) rows against \(expected.count)")
                }
            }
            checks.expect(try store.pool.read { db in try Self.oracle(db, prefix: "", after: -1) }.count == 80, "every context, removed ones too")

            // The watcher that started before any trim: what it is sent is the v6 answer.
            var feed = early!
            var seen: [ChangeRow] = []
            while true {
                let events = try feed.next()
                if events.isEmpty { break }
                for event in events {
                    switch event {
                    case .put(let id, let version, let body, let position):
                        seen.append(ChangeRow(id: id, version: version, deleted: false, body: body, change: position.change))
                    case .delete(let id, let version, let position):
                        seen.append(ChangeRow(id: id, version: version, deleted: true, body: [], change: position.change))
                    default: break
                    }
                }
            }
            let expected = try store.pool.read { db in try Self.oracle(db, prefix: "log/a-", after: earlyFrom) }.map {
                ChangeRow(id: $0.id, version: $0.version, deleted: $0.deleted, body: $0.deleted ? [] : $0.body, change: $0.change)
            }
            checks.expect(seen == expected, "the early watcher: \(seen.count) events against \(expected.count)")

            // The log keeps every change (far fewer than ``ChangeLogTable/kept``); a head trim
            // that keeps 600 raises the floor, and every read after a position above it is the same.
            let rows = try Self.count(store, "SELECT count(*) FROM contexts")
            checks.expect(rows == 77)
            let counter = try store.reader.changeLog().log.change
            checks.expect(try Self.count(store, "SELECT count(*) FROM change_log") >= 3_400)
            checks.expect(try store.pool.write { db in try ChangeLogTable.trim(db, counter: counter, keep: 600) } > 0)
            checks.expect(try store.reader.changeLog().log.floor == counter - 600)
            for after in positions where after >= counter - 600 {
                let expected = try store.pool.read { db in try Self.oracle(db, prefix: "", after: after) }
                checks.expect(try Self.paged(store.reader, prefix: "", after: after) == expected, "after \(after), trimmed")
            }
            return checks.failures
        }
        #expect(failures.isEmpty, "\(failures)")
    }

    /// Every event of a feed until it has caught up.
    static func drain(_ feed: inout ChangeFeed) throws -> [WatchEvent] {
        var all: [WatchEvent] = []
        while true {
            let events = try feed.next()
            if events.isEmpty { return all }
            all += events
        }
    }

    /// A head trim deletes the oldest log rows only and raises the floor: a watcher resuming
    /// below it, or one that falls behind it while it watches, gets a `reset` and a full transfer
    /// of the live rows (read from `contexts`, position 0); one above it resumes as before.
    @Test func aHeadTrimResetsOnlyTheWatchersBehindIt() async throws {
        let dir = try TestEnv.directory("change-log-trim")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let failures = try await BlockingThread.value(name: "test-change-log-trim") { () throws -> [String] in
            let checks = Checks()
            let store = try ReplicaStore(path: "\(dir)/replica.sqlite")
            // Ten contexts written 30 times each, one at a time: changes 1-300.
            var seq: UInt64 = 0
            func round(_ version: Int64) throws {
                for i in 0..<10 {
                    seq += 1
                    try store.apply([try Self.put(seq, "t\(i)", version)])
                }
            }
            for version in 1...30 { try round(Int64(version)) }
            checks.expect(try Self.count(store, "SELECT count(*) FROM change_log") == 300)
            // A step moves the head by at most `step` numbers: 120, then the remaining 80.
            checks.expect(try store.pool.write { db in try ChangeLogTable.trim(db, counter: 300, keep: 100, step: 120) } == 120)
            checks.expect(try Self.count(store, "SELECT min(change) FROM change_log") == 121)
            checks.expect(try store.reader.changeLog().log.floor == 120)
            checks.expect(try store.pool.write { db in try ChangeLogTable.trim(db, counter: 300, keep: 100, step: 120) } == 80)
            checks.expect(try Self.count(store, "SELECT min(change) FROM change_log") == 201)
            checks.expect(try store.pool.write { db in try ChangeLogTable.trim(db, counter: 300, keep: 100) } == 0)
            let log = try store.reader.changeLog().log
            checks.expect(log.floor == 200, "floor \(log.floor)")
            func puts(_ events: [WatchEvent]) -> [String] {
                events.compactMap { if case .put(let id, _, _, _) = $0 { id } else { nil } }
            }
            // Below the floor: reset, then the ten live rows at position 0, then synced.
            var behind = try store.changeFeed(prefix: "t", after: WatchPosition(file: log.file, change: 150))
            let reset = try Self.drain(&behind)
            checks.expect(reset.first.map { if case .reset = $0 { true } else { false } } == true, "\(reset.first.map { "\($0)" } ?? "none")")
            checks.expect(puts(reset).sorted() == (0..<10).map { "t\($0)" }, "\(puts(reset))")
            checks.expect(reset.allSatisfy { if case .put(_, _, _, let at) = $0 { at.change == 0 } else { true } })
            checks.expect(reset.last.map { if case .synced = $0 { true } else { false } } == true)
            // Above it: the contexts changed after 250 (all ten, in round 30), no reset.
            var above = try store.changeFeed(prefix: "t", after: WatchPosition(file: log.file, change: 250))
            let resumed = try Self.drain(&above)
            checks.expect(!resumed.contains { if case .reset = $0 { true } else { false } })
            checks.expect(puts(resumed).count == 10, "\(resumed.count) events")
            // A fresh feed: the live rows, no reset.
            var fresh = try store.changeFeed(prefix: "", after: nil)
            let transfer = try Self.drain(&fresh)
            checks.expect(!transfer.contains { if case .reset = $0 { true } else { false } })
            checks.expect(puts(transfer).sorted() == (0..<10).map { "t\($0)" })
            // The resumed watcher falls behind: 100 more changes, a trim that keeps 50.
            for version in 31...40 { try round(Int64(version)) }
            _ = try store.pool.write { db in try ChangeLogTable.trim(db, counter: 400, keep: 50) }
            let again = try Self.drain(&above)
            checks.expect(again.first.map { if case .reset = $0 { true } else { false } } == true, "\(again.first.map { "\($0)" } ?? "none")")
            checks.expect(puts(again).sorted() == (0..<10).map { "t\($0)" }, "\(puts(again))")
            checks.expect(again.last.map { if case .synced = $0 { true } else { false } } == true)
            // The fresh one was not behind by more than the log holds? It was: at 300, floor 350.
            let freshAgain = try Self.drain(&fresh)
            checks.expect(freshAgain.first.map { if case .reset = $0 { true } else { false } } == true)
            return checks.failures
        }
        #expect(failures.isEmpty, "\(failures)")
    }

    /// A snapshot chunk appends a log row for each of its rows: a watcher after the position
    /// before it reads exactly the repaired and the new contexts (the log rows of the rows the
    /// snapshot found as they were are superseded at once).
    @Test func aSnapshotChunkLogsTheRowsItChanged() async throws {
        let dir = try TestEnv.directory("change-log-snapshot")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let failures = try await BlockingThread.value(name: "test-change-log-snapshot") { () throws -> [String] in
            let checks = Checks()
            let store = try ReplicaStore(path: "\(dir)/replica.sqlite")
            // 40 contexts at version 2 (seqs 1-40), then the position a watcher holds.
            try store.apply(try (1...40).map { try Self.put(UInt64($0), "snap/\($0)", 2) })
            let before = try store.reader.changeLog().log.change
            let logRows = try Self.count(store, "SELECT count(*) FROM change_log")
            // A full snapshot at seq 40: 33 rows as the replica has them, 3 newer (repairs), 2
            // older that it overrides (authoritative at its seq), and 2 contexts the replica
            // lacks. Rows in statements of many and one by one, and the repairs among both.
            let repaired: Set<String> = ["snap/1", "snap/17", "snap/39"]
            let changedIDs = repaired.union(["snap/5", "snap/6", "snap/41", "snap/42"])
            let rows = try (1...42).map { n -> SnapshotRow in
                let id = "snap/\(n)"
                let version: Int64 = repaired.contains(id) ? 3 : changedIDs.contains(id) ? 1 : 2
                let body = repaired.contains(id) ? #"{"repaired":1}"# : #"{"s":\#(n)}"#
                return SnapshotRow(
                    id: try ContextID(id), version: version, deleted: false, body: Array(body.utf8), hubTimeMs: 1, seq: UInt64(n),
                    bodyMissing: false)
            }
            let announcement = SnapshotAnnouncement(
                key: "pane:{snaplog}:snapshot:3", epoch: 3, seq: 40, chunks: 1, rows: rows.count, replicas: nil, buckets: nil,
                requestIDs: ["s3"], reason: "test")
            let failed = try store.applySnapshotChunk(rows, announcement: announcement, index: 0, requestID: "s3")
            checks.expect(failed.isEmpty, "\(failed)")
            let read = try Self.paged(store.reader, prefix: "snap/", after: before)
            checks.expect(Set(read.map(\.id)) == changedIDs && read.count == changedIDs.count, "\(read.map(\.id))")
            checks.expect(read.allSatisfy { $0.body == Array(#"{"repaired":1}"#.utf8) || $0.version == 1 }, "\(read)")
            let logRowsAfter = try Self.count(store, "SELECT count(*) FROM change_log")
            checks.expect(logRowsAfter == logRows + rows.count, "log rows \(logRowsAfter) vs \(logRows) + \(rows.count)")
            try store.pool.read { db in
                checks.expect(try Self.paged(store.reader, prefix: "", after: -1) == (try Self.oracle(db, prefix: "", after: -1)))
            }
            return checks.failures
        }
        #expect(failures.isEmpty, "\(failures)")
    }

    /// A file written by the schema before v7 (the `contexts_change` index), with live rows,
    /// tombstones, rows from before the change log (change 0) and removals, is migrated on open:
    /// the reads after every position are the same (the change-0 rows come after the counter,
    /// where they now have a place), the file keeps its identity, and writes go on in the log.
    @Test func aFileOfTheIndexSchemaIsMigratedWithTheSameReads() async throws {
        let dir = try TestEnv.directory("change-log-migrate")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let failures = try await BlockingThread.value(name: "test-change-log-migrate") { () throws -> [String] in
            let checks = Checks()
            let path = "\(dir)/replica.sqlite"
            let positions: [Int64] = [-1, 0, 1, 7, 15, 22, 30, 31]
            let (before, file): ([Int64: [ChangeRow]], Int64) = try {
                let queue = try DatabaseQueue(path: path)
                try ReplicaSchema.migrator.migrate(queue, upTo: "v6-hub-history")
                return try queue.write { db in
                    checks.expect(try db.indexes(on: "contexts").contains { $0.name == "contexts_change" })
                    // 24 rows as the v6 apply wrote them (changes 1-30 with gaps: rows written
                    // again), three never renumbered (change 0), and removals: two of rows now
                    // gone, one of a row written again after its removal.
                    var change: Int64 = 0
                    for i in 0..<24 {
                        change += i % 5 == 0 ? 2 : 1
                        try db.execute(
                            sql: "INSERT INTO contexts(id, version, deleted, body, hub_ts, applied_ts, seq, change) VALUES (?, ?, ?, ?, 1, 1, ?, ?)",
                            arguments: ["m\(i)", i + 1, i % 7 == 3 ? 1 : 0, i % 7 == 3 ? Data() : Data("{\"i\":\(i)}".utf8), i + 1, change])
                    }
                    for i in 0..<3 {
                        try db.execute(
                            sql: "INSERT INTO contexts(id, version, deleted, body, hub_ts, applied_ts, seq, change) VALUES (?, 1, 0, ?, 1, 1, 0, 0)",
                            arguments: ["old\(2 - i)", Data("{}".utf8)])
                    }
                    try db.execute(sql: "INSERT INTO removals(id, version, change) VALUES ('gone1', 4, 30), ('gone2', 2, 31), ('m5', 1, 1)")
                    try db.execute(sql: "UPDATE replica_state SET value = 31 WHERE name = 'change'")
                    var reads: [Int64: [ChangeRow]] = [:]
                    for after in positions { reads[after] = try Self.oracle(db, prefix: "", after: after) }
                    let file = try Int64.fetchOne(db, sql: "SELECT value FROM replica_state WHERE name = 'file_id'")!
                    return (reads, file)
                }
            }()
            checks.expect(before[-1]?.count == 29 && before[0]?.count == 26 && before[31]?.isEmpty == true)

            let store = try ReplicaStore(path: path)
            let log = try store.reader.changeLog().log
            checks.expect(log.file == WatchPosition(fileID: file, change: 0).file, "the file keeps its identity")
            checks.expect(log.change == 34, "the three change-0 rows took 32-34")
            try store.pool.read { db in
                checks.expect(try !db.indexes(on: "contexts").contains { $0.name == "contexts_change" })
                checks.expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM change_log") == 27)
            }
            let renumbered = ["old0", "old1", "old2"].enumerated().map { offset, id in
                ChangeRow(id: id, version: 1, deleted: false, body: Array("{}".utf8), change: 32 + Int64(offset))
            }
            for after in positions {
                let expected = before[after]!.filter { $0.change != 0 } + renumbered
                checks.expect(try Self.paged(store.reader, prefix: "", after: after, pageSize: 4) == expected, "after \(after)")
                checks.expect(try Self.paged(store.reader, prefix: "m1", after: after) == expected.filter { $0.id.hasPrefix("m1") })
            }
            // Writes after the migration: a new row, a row written again, a tombstone.
            try store.apply([try Self.put(100, "new", 1), try Self.put(101, "m2", 50), try Self.put(102, "m4", 60, .del)])
            let after = try Self.paged(store.reader, prefix: "", after: 34)
            checks.expect(after.map(\.id) == ["new", "m2", "m4"] && after.map(\.change) == [35, 36, 37] && after[2].deleted)
            checks.expect(try Self.paged(store.reader, prefix: "", after: -1).count == 30)
            return checks.failures
        }
        #expect(failures.isEmpty, "\(failures)")
    }
}
