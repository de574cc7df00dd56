import Foundation
import GRDB
import PaneCore
import PaneStore
import PaneTestKit
import Testing

/// The hub file's schema since migration v7 (one outbox row per write naming its regions, the
/// placements of a context's current version inferred from its row, `placements_apart` for the
/// rest), checked against a model of what the hub placed where, and the migration from a file
/// written by the schema before it.
@Suite struct HubSchemaTests {
    /// What the hub placed in one region for one id.
    struct Placed: Equatable {
        var version: Int64
        var deleted: Bool
        var seq: UInt64
        var body: [UInt8]
    }

    /// The hub's state as the tests expect it, kept by hand.
    struct Model {
        var contexts: [String: (version: Int64, deleted: Bool, body: [UInt8])] = [:]
        var placed: [Region: [String: Placed]] = [:]
        var outbox: [Region: [(seq: UInt64, id: String, version: Int64, op: ContextOp, body: [UInt8])]] = [:]

        mutating func wrote(_ write: HubWrite, op: ContextOp, body: [UInt8]) {
            let id = write.id.value
            contexts[id] = (write.version, op == .del, body)
            for (region, seq) in write.seqs {
                placed[region, default: [:]][id] = Placed(version: write.version, deleted: op == .del, seq: seq, body: body)
                outbox[region, default: []].append((seq, id, write.version, op, body))
            }
        }

        func digest(_ region: Region, format: Int) -> (ContextDigest, [UInt64]) {
            var digest = ContextDigest()
            var maxSeq = [UInt64](repeating: 0, count: ContextDigest.bucketCount)
            for (id, placement) in placed[region] ?? [:] {
                let hash: UInt64? = format >= 2 ? (placement.deleted ? 0 : ContextDigest.bodyHash(placement.body)) : nil
                digest.add(id: id, version: placement.version, deleted: placement.deleted, bodyHash: hash)
                let bucket = ContextDigest.bucket(of: id)
                maxSeq[bucket] = max(maxSeq[bucket], placement.seq)
            }
            return (digest, maxSeq)
        }

        /// What a snapshot of `region` must hold, in id order.
        func snapshot(_ region: Region) -> [(id: String, version: Int64, deleted: Bool, seq: UInt64, body: [UInt8], missing: Bool)] {
            (placed[region] ?? [:]).sorted { $0.key < $1.key }.map { id, placement in
                let current = contexts[id]?.version == placement.version
                let body = current && !placement.deleted ? placement.body : []
                return (id, placement.version, placement.deleted, placement.seq, body, !current && !placement.deleted)
            }
        }
    }

    /// Compares every reader of placements and the outbox with the model.
    static func check(_ store: HubStore, _ model: Model, _ regions: [Region], _ note: String) throws {
        for region in regions {
            let expected = (model.placed[region] ?? [:]).mapValues { VersionState(version: $0.version, deleted: $0.deleted) }
            let state = try store.state(of: region)
            #expect(Dictionary(uniqueKeysWithValues: state.map { ($0.key.value, $0.value) }) == expected, "\(note): state of \(region)")
            for format in [1, 2] {
                let (digest, maxSeq, _) = try store.digest(region: region, format: format)
                let (want, wantMaxSeq) = model.digest(region, format: format)
                #expect(digest == want, "\(note): digest format \(format) of \(region)")
                #expect(maxSeq == wantMaxSeq, "\(note): max seq per bucket of \(region)")
            }
            var rows: [SnapshotRow] = []
            _ = try store.snapshot(region: region, buckets: nil, chunkRows: 7) { rows += $0 }
            let want = model.snapshot(region)
            #expect(rows.count == want.count, "\(note): snapshot rows of \(region)")
            for (row, wanted) in zip(rows, want) {
                #expect(row.id.value == wanted.id && row.version == wanted.version && row.deleted == wanted.deleted, "\(note): \(wanted.id)")
                #expect(row.seq == wanted.seq && row.body == wanted.body && row.bodyMissing == wanted.missing, "\(note): \(wanted.id) in \(region)")
            }
            let (updates, lastSeq) = try store.outbox(region: region, limit: 10_000)
            let outbox = model.outbox[region] ?? []
            #expect(updates.map(\.seq) == outbox.map(\.seq), "\(note): outbox seqs of \(region)")
            #expect(updates.map(\.id.value) == outbox.map(\.id), "\(note): outbox ids of \(region)")
            #expect(updates.map(\.version) == outbox.map(\.version) && updates.map(\.op) == outbox.map(\.op), "\(note): \(region)")
            #expect(updates.map(\.body) == outbox.map(\.body), "\(note): outbox bodies of \(region)")
            #expect(lastSeq == (outbox.last?.seq ?? lastSeq), "\(note): last seq of \(region)")
        }
    }

    /// Writes to every region, to some, deletes and republishes move a context's placements
    /// between its row and `placements_apart`; every reader sees what the model placed.
    @Test func placementsFollowEveryChangeOfRegions() async throws {
        let dir = try TestEnv.directory("schema-model")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let regions = try ["s1", "s2", "s3"].map { try Region($0) }
        let (r1, r2, r3) = (regions[0], regions[1], regions[2])
        let store = try HubStore(path: "\(dir)/hub.sqlite", regions: regions)
        var model = Model()
        func put(_ id: String, _ text: String, _ targets: [Region]? = nil) async throws {
            let body = Array(text.utf8)
            model.wrote(try await store.put(id: try ContextID(id), body: body, regions: targets), op: .put, body: body)
        }
        func delete(_ id: String, _ targets: [Region]? = nil) async throws {
            let write = try #require(try await store.delete(id: try ContextID(id), regions: targets))
            model.wrote(write, op: .del, body: [])
        }
        try await put("a", "{\"a\":1}")
        try await put("b", "{\"b\":1}", [r1])
        try await put("c", "{\"c\":1}", [r2, r3])
        try HubSchemaTests.check(store, model, regions, "first writes")
        try await put("a", "{\"a\":2}", [r2])  // r1 and r3 keep version 1 apart
        try await put("b", "{\"b\":2}")  // b joins r2 and r3
        try await delete("c", [r3])  // r2 keeps c's version 1
        try HubSchemaTests.check(store, model, regions, "regions changed")
        try await put("a", "{\"a\":3}")  // every region again: nothing apart
        try await put("c", "{\"c\":3}", [r1, r2])
        try await put("d", "{\"d\":1}", [r1, r1])  // a region named twice counts once
        try HubSchemaTests.check(store, model, regions, "back to every region")
        // A republish gives the region the current version with a new seq.
        let (done, missing) = try await store.republish(ids: [try ContextID("c"), try ContextID("nope")], region: r3)
        #expect(done.map(\.value) == ["c"] && missing.map(\.value) == ["nope"])
        let seq = try store.lastSeq(region: r3)
        let c = try #require(model.contexts["c"])
        model.placed[r3]?["c"] = Placed(version: c.version, deleted: c.deleted, seq: seq, body: c.body)
        model.outbox[r3, default: []].append((seq, "c", c.version, .put, c.body))
        try HubSchemaTests.check(store, model, regions, "after a republish")
        // A batch goes through the same placement rules.
        let batch = try await store.batch([
            BatchOperation(op: .put, id: try ContextID("a"), body: Array("{\"a\":4}".utf8), regions: [r2]),
            BatchOperation(op: .del, id: try ContextID("b"), body: [], regions: nil),
        ])
        model.contexts["a"] = (batch[0].version, false, Array("{\"a\":4}".utf8))
        model.placed[r2]?["a"] = Placed(version: batch[0].version, deleted: false, seq: batch[0].seqs[r2]!, body: Array("{\"a\":4}".utf8))
        model.contexts["b"] = (batch[1].version, true, [])
        for (region, seq) in batch[1].seqs { model.placed[region]?["b"] = Placed(version: batch[1].version, deleted: true, seq: seq, body: []) }
        for region in regions {
            let (updates, _) = try store.outbox(region: region, limit: 10_000)
            let last = try #require(updates.last)
            #expect(last.op == .batch && last.seq == batch[1].seqs[region], "one batch entry per region")
            model.outbox[region, default: []].append((last.seq, last.id.value, last.version, .batch, last.body))
        }
        try HubSchemaTests.check(store, model, regions, "after a batch")

        // A batch whose every operation goes to every region it touches: one outbox row names
        // all of them (not a copy of the share per region); each region still reads its own
        // batch entry, with its own seq and the same share.
        let rowsBefore = try Self.outboxRows(dir)
        let everywhere = try await store.batch([
            BatchOperation(op: .put, id: try ContextID("e1"), body: Array("1".utf8)),
            BatchOperation(op: .put, id: try ContextID("c"), body: Array("2".utf8)),
        ])
        #expect(try Self.outboxRows(dir) == rowsBefore + 1, "one row for the three regions")
        var shares: Set<[UInt8]> = []
        for (index, text) in ["1", "2"].enumerated() {
            let id = index == 0 ? "e1" : "c"
            model.contexts[id] = (everywhere[index].version, false, Array(text.utf8))
            for region in regions {
                model.placed[region]?[id] = Placed(
                    version: everywhere[index].version, deleted: false, seq: everywhere[index].seqs[region]!, body: Array(text.utf8))
            }
        }
        for region in regions {
            let (updates, _) = try store.outbox(region: region, limit: 10_000)
            let last = try #require(updates.last)
            #expect(last.op == .batch && last.seq == everywhere[0].seqs[region] && last.seq == everywhere[1].seqs[region])
            #expect(last.id.value == "e1" && last.version == everywhere.map(\.version).max())
            shares.insert(last.body)
            model.outbox[region, default: []].append((last.seq, last.id.value, last.version, .batch, last.body))
        }
        #expect(shares.count == 1, "every region's entry carries the same share")
        try HubSchemaTests.check(store, model, regions, "after a batch to every region")
    }

    /// Rows in the hub file's outbox.
    static func outboxRows(_ dir: String) throws -> Int {
        try DatabaseQueue(path: "\(dir)/hub.sqlite").read { try Int.fetchOne($0, sql: "SELECT count(*) FROM outbox_writes") ?? 0 }
    }

    /// Published rows are deleted only once every region they name has published them; a
    /// lagging region still reads its rows, from the start as well as from where it was.
    @Test func outboxRowsStayUntilEveryRegionPublishedThem() async throws {
        let dir = try TestEnv.directory("schema-outbox")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let regions = try ["o1", "o2"].map { try Region($0) }
        let store = try HubStore(path: "\(dir)/hub.sqlite", regions: regions)
        for i in 1...10 { _ = try await store.put(id: try ContextID("k\(i)"), body: Array("{\"i\":\(i)}".utf8)) }
        store.markPublished(region: regions[0], upTo: 10)
        #expect(try store.persistPublished() == 0, "o2 has published nothing: every row stays")
        #expect(try store.outbox(region: regions[0], limit: 100).updates.isEmpty)
        #expect(try store.outbox(region: regions[1], after: 3, limit: 4).updates.map(\.seq) == [4, 5, 6, 7])
        #expect(try store.outbox(region: regions[1], after: 7, limit: 100).updates.map(\.seq) == [8, 9, 10])
        #expect(try store.outbox(region: regions[1], after: 1, limit: 2).updates.map(\.seq) == [2, 3], "a read from further back")
        store.markPublished(region: regions[1], upTo: 6)
        #expect(try store.persistPublished() == 6)
        #expect(try store.outbox(region: regions[1], limit: 100).updates.map(\.seq) == [7, 8, 9, 10])
        #expect(try store.outboxDepth() == [regions[0]: 0, regions[1]: 4])
        store.markPublished(region: regions[1], upTo: 10)
        #expect(try store.persistPublished() == 4)
        // After the table was emptied, new rows still get new row ids: the reader's resume point holds.
        _ = try await store.put(id: try ContextID("k11"), body: Array("{}".utf8))
        #expect(try store.outbox(region: regions[1], after: 10, limit: 100).updates.map(\.seq) == [11])
    }

    /// A file written by the schema before migration v6 → v7, with pending outbox rows (one
    /// without `ts_us`, one replay) and placements (one region skipped by a later write), is
    /// migrated on open: it publishes exactly the rows it would have, with the same seqs, and
    /// its placements, digests and snapshots are unchanged; writes go on from there.
    @Test func aFileOfTheOldSchemaIsMigratedAndPublishesTheSame() async throws {
        let dir = try TestEnv.directory("schema-migrate")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/hub.sqlite"
        let regions = try ["m1", "m2"].map { try Region($0) }
        let (m1, m2) = (regions[0], regions[1])
        let a1 = Array("{\"a\":1}".utf8)
        let a2 = Array("{\"a\":2}".utf8)
        let b1 = Array("{\"b\":1}".utf8)
        let sums = [a1, a2, b1].map { Int64(bitPattern: ContextDigest.bodyHash($0)) }
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            // The schema after migrations v1–v6, as the hub binary before v7 left it.
            try db.execute(
                sql: """
                    CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
                    INSERT INTO grdb_migrations VALUES ('v1'), ('v2-published-seq'), ('v3-hub-identity'), ('v4-outbox-ts-us'),
                        ('v5-outbox-replay'), ('v6-placement-body-sum');
                    CREATE TABLE contexts(id TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL, deleted INTEGER NOT NULL,
                        body BLOB NOT NULL, updated_at INTEGER NOT NULL);
                    CREATE TABLE regions(name TEXT PRIMARY KEY NOT NULL, last_seq INTEGER NOT NULL, published_seq INTEGER NOT NULL DEFAULT 0);
                    CREATE TABLE placements(region TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, deleted INTEGER NOT NULL,
                        seq INTEGER NOT NULL, body_sum INTEGER, PRIMARY KEY(region, id)) WITHOUT ROWID;
                    CREATE TABLE outbox(region TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
                        op TEXT NOT NULL, body BLOB NOT NULL, ts INTEGER NOT NULL, ts_us INTEGER, replay INTEGER NOT NULL DEFAULT 0,
                        PRIMARY KEY(region, seq)) WITHOUT ROWID;
                    CREATE TABLE hub_meta(name TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
                    INSERT INTO hub_meta VALUES ('hub_id', '00112233aabbccdd');
                    """)
            // a: v1 to m1 and m2 (seqs 1, 1), v2 to m1 only (seq 2); b: v1 to m1 (seq 3), then
            // republished to m1 (seq 4, a replay); c: deleted (v2) in m2 (seq 2), body_sum NULL
            // as an older binary wrote it. m1 published up to 1, m2 nothing.
            try db.execute(sql: "INSERT INTO regions VALUES ('m1', 4, 1), ('m2', 2, 0)")
            try db.execute(
                sql: "INSERT INTO contexts VALUES ('a', 2, 0, ?, 1700000000002), ('b', 1, 0, ?, 1700000000003), ('c', 2, 1, x'', 1700000000004)",
                arguments: [Data(a2), Data(b1)])
            try db.execute(
                sql: """
                    INSERT INTO placements VALUES ('m1', 'a', 2, 0, 2, ?), ('m2', 'a', 1, 0, 1, ?), ('m1', 'b', 1, 0, 4, ?),
                        ('m2', 'c', 2, 1, 2, NULL)
                    """,
                arguments: [sums[1], sums[0], sums[2]])
            try db.execute(
                sql: """
                    INSERT INTO outbox VALUES ('m1', 1, 'a', 1, 'put', ?, 1700000000001, 1700000000001500, 0),
                        ('m1', 2, 'a', 2, 'put', ?, 1700000000002, 1700000000002500, 0),
                        ('m1', 3, 'b', 1, 'put', ?, 1700000000003, NULL, 0),
                        ('m1', 4, 'b', 1, 'put', ?, 1700000000003, NULL, 1),
                        ('m2', 1, 'a', 1, 'put', ?, 1700000000001, 1700000000001500, 0),
                        ('m2', 2, 'c', 2, 'del', x'', 1700000000004, 1700000000004000, 0)
                    """,
                arguments: [Data(a1), Data(a2), Data(b1), Data(b1), Data(a1)])
        }
        try queue.close()

        let store = try HubStore(path: path, regions: regions)
        #expect(store.hubID == "00112233aabbccdd")
        let (m1Updates, m1Last) = try store.outbox(region: m1, limit: 100)
        #expect(m1Updates.map(\.seq) == [2, 3, 4], "m1 had published seq 1")
        #expect(m1Updates.map(\.id.value) == ["a", "b", "b"] && m1Updates.map(\.version) == [2, 1, 1])
        #expect(m1Updates.map(\.body) == [a2, b1, b1])
        #expect(m1Updates.map(\.hubTimeUs) == [1_700_000_000_002_500, 1_700_000_000_003_000, 1_700_000_000_003_000], "ts × 1000 without ts_us")
        #expect(m1Updates.map(\.replay) == [false, false, true])
        #expect(m1Last == 4)
        let (m2Updates, m2Last) = try store.outbox(region: m2, limit: 100)
        #expect(m2Updates.map(\.seq) == [1, 2] && m2Updates.map(\.op) == [.put, .del] && m2Last == 2)

        var model = Model()
        model.contexts = ["a": (2, false, a2), "b": (1, false, b1), "c": (2, true, [])]
        model.placed[m1] = ["a": Placed(version: 2, deleted: false, seq: 2, body: a2), "b": Placed(version: 1, deleted: false, seq: 4, body: b1)]
        model.placed[m2] = ["a": Placed(version: 1, deleted: false, seq: 1, body: a1), "c": Placed(version: 2, deleted: true, seq: 2, body: [])]
        model.outbox[m1] = [(2, "a", 2, .put, a2), (3, "b", 1, .put, b1), (4, "b", 1, .put, b1)]
        model.outbox[m2] = [(1, "a", 1, .put, a1), (2, "c", 2, .del, [])]
        try HubSchemaTests.check(store, model, regions, "migrated")

        // Writes go on from the stored seqs; the migrated placements move as new ones do.
        let bodyA3 = Array("{\"a\":3}".utf8)
        let write = try await store.put(id: try ContextID("a"), body: bodyA3)
        #expect(write.version == 3 && write.seqs == [m1: 5, m2: 3])
        model.wrote(write, op: .put, body: bodyA3)
        let bodyB2 = Array("{\"b\":2}".utf8)
        let skip = try await store.put(id: try ContextID("b"), body: bodyB2, regions: [m2])
        model.wrote(skip, op: .put, body: bodyB2)
        try HubSchemaTests.check(store, model, regions, "written after the migration")
        store.markPublished([(m1, 5), (m2, 4)])
        #expect(try store.persistPublished() == 8, "every migrated and new row was published")
        #expect(try store.outboxDepth() == [m1: 0, m2: 0])
    }
}
