import Foundation
import GRDB
import GRDBSQLite
import PaneCore

/// What resync and anti-entropy read from the hub store.
extension HubStore {
    /// The outcome of ``snapshot(region:buckets:chunkRows:chunkBytes:_:)``.
    public struct SnapshotSummary: Sendable, Equatable {
        /// The region seq the snapshot is current to: `last_seq` in the snapshot's transaction.
        public var seq: UInt64
        public var rows: Int
        public var chunks: Int
    }

    /// Reads a consistent snapshot of what the hub placed in `region`, in one read transaction,
    /// and hands it to `body` in chunks of at most `chunkRows` rows (and about `chunkBytes` bytes
    /// of bodies), in id order.
    ///
    /// Only the buckets in `buckets` are read (every bucket when `nil`). A row carries the placed
    /// version and tombstone flag, and the body when the hub still holds that version; when a
    /// later write did not target `region`, the hub holds only the newer body and the row is
    /// marked ``SnapshotRow/bodyMissing``. Rows come from a cursor, so memory stays at one chunk
    /// however many contexts the region has.
    ///
    /// `began` runs inside the read transaction, before the first row is read, with the seq the
    /// snapshot is current to: a streamed snapshot is announced there, so its announcement gets
    /// a seq above the snapshot's while the rows are still being read.
    public func snapshot(
        region: Region, buckets: [Int]?, chunkRows: Int = 2_000, chunkBytes: Int = 8 << 20,
        began: ((UInt64) throws -> Void)? = nil, _ body: ([SnapshotRow]) throws -> Void
    ) throws -> SnapshotSummary {
        var wanted: [Bool]?
        if let buckets {
            var mask = [Bool](repeating: false, count: ContextDigest.bucketCount)
            for bucket in buckets where mask.indices.contains(bucket) { mask[bucket] = true }
            wanted = mask
        }
        return try pool.read { db in
            let seq = try Int64.fetchOne(db, sql: "SELECT last_seq FROM regions WHERE name = ?", arguments: [region.name]) ?? 0
            try began?(UInt64(max(0, seq)))
            var chunk: [SnapshotRow] = []
            chunk.reserveCapacity(min(chunkRows, 4_096))
            var bytes = 0
            var rows = 0
            var chunks = 0
            func flush() throws {
                guard !chunk.isEmpty else { return }
                try body(chunk)
                rows += chunk.count
                chunks += 1
                chunk.removeAll(keepingCapacity: true)
                bytes = 0
            }
            let extra = "CASE WHEN \(Placement.inPlaced) OR a.version = c.version THEN c.body END"
            try Placement.forEach(db, region: region, extra: extra, ordered: true) { placement, statement in
                if let wanted, !wanted[ContextDigest.bucket(of: placement.id)] { return }
                var payload: [UInt8] = []
                var hubTime: Int64 = 0
                var missing = false
                if placement.current {
                    hubTime = sqlite3_column_int64(statement, Placement.updatedAtColumn)
                    if !placement.deleted { payload = RawSQLite.blob(statement, Placement.extraColumn) }
                } else if !placement.deleted {
                    missing = true
                }
                chunk.append(
                    SnapshotRow(
                        id: try ContextID(placement.id), version: placement.version, deleted: placement.deleted, body: payload,
                        hubTimeMs: hubTime, seq: UInt64(max(0, placement.seq)), bodyMissing: missing))
                bytes += payload.count + placement.id.utf8.count + 31
                if chunk.count >= chunkRows || bytes >= chunkBytes { try flush() }
            }
            try flush()
            return SnapshotSummary(seq: UInt64(max(0, seq)), rows: rows, chunks: chunks)
        }
    }

    /// Puts a `snap` entry announcing `announcement` into the region's outbox, with the region's
    /// next seq, and wakes the publisher. Placements do not change. Returns the entry's seq.
    @discardableResult
    public func announce(region: Region, announcement: SnapshotAnnouncement) throws -> UInt64 {
        _ = try targets([region])
        let id = try ContextID(announcement.key)
        let nowUs = WallClock.nowUs()
        let seq = try pool.write { db -> Int64 in
            let seq = try Int64.fetchOne(
                db, sql: "UPDATE regions SET last_seq = last_seq + 1 WHERE name = ? RETURNING last_seq", arguments: [region.name]) ?? 0
            try db.execute(
                sql: "INSERT INTO outbox_writes(seqs, id, version, op, body, ts_us) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [
                    RegionSeqs([(region.name, seq)]).text, id.value, announcement.epoch, ContextOp.snap.rawValue,
                    Data(announcement.encoded()), nowUs,
                ])
            return seq
        }
        outboxWrittenDirectly(region)
        doorbell.ring()
        return UInt64(seq)
    }

    /// The digest of what the hub placed in `region` in `format` (1 or 2, see ``ContextDigest``),
    /// the highest placement seq of each bucket, and `last_seq`, all from one read transaction.
    /// In format 2 a placement without `body_sum` (written by a hub binary from before the
    /// column, or a context row last written before migration v7) is hashed from the hub's body when the hub still holds that version, and counts
    /// as body hash 0 when it does not (a later write did not target `region`).
    public func digest(region: Region, format: Int = ContextDigest.currentFormat) throws -> (digest: ContextDigest, maxSeq: [UInt64], seq: UInt64) {
        try pool.read { db in
            let seq = try Int64.fetchOne(db, sql: "SELECT last_seq FROM regions WHERE name = ?", arguments: [region.name]) ?? 0
            var digest = ContextDigest()
            var maxSeq = [UInt64](repeating: 0, count: ContextDigest.bucketCount)
            // The body only where no hash is stored and the hub still holds the placed version.
            let body = """
                CASE WHEN \(Placement.inPlaced) THEN (CASE WHEN c.body_sum IS NULL THEN c.body END)
                    WHEN a.body_sum IS NULL AND a.version = c.version THEN c.body END
                """
            try Placement.forEach(db, region: region, extra: body, ordered: false) { placement, statement in
                let placed = UInt64(max(0, placement.seq))
                var bodyHash: UInt64?
                if format >= 2 {
                    if let sum = placement.bodySum {
                        bodyHash = UInt64(bitPattern: sum)
                    } else if placement.deleted || RawSQLite.isNull(statement, Placement.extraColumn) {
                        bodyHash = 0
                    } else {
                        bodyHash = ContextDigest.bodyHash(RawSQLite.bytes(statement, Placement.extraColumn))
                    }
                }
                digest.add(id: placement.id, version: placement.version, deleted: placement.deleted, bodyHash: bodyHash)
                let bucket = ContextDigest.bucket(of: placement.id)
                if placed > maxSeq[bucket] { maxSeq[bucket] = placed }
            }
            return (digest, maxSeq, UInt64(max(0, seq)))
        }
    }
}

/// One placement of a region as the hub file holds it (``HubSchema/migrateToOneRowPerWrite(_:)``):
/// the context row itself when its `placed` names the region, else the region's row in
/// `placements_apart`. Every reader of placements (snapshot, digest, ``HubStore/state(of:)``)
/// goes through ``forEach(_:region:extra:ordered:_:)``, which reads the rows through the raw
/// SQLite API: a snapshot or a digest reads every placement of the region, a million rows and
/// more, so no GRDB `Row` and no copy of a column it does not need.
struct Placement {
    var id: String
    var version: Int64
    var deleted: Bool
    var seq: Int64
    var bodySum: Int64?
    /// The placed version is the context's current one (the hub holds its body).
    var current: Bool

    /// `?2` is the region's ``RegionSeqs/pattern(_:)``.
    static let inPlaced = "instr(c.placed, ?2) > 0"
    static let updatedAtColumn: Int32 = 9
    static let extraColumn: Int32 = 10

    /// Every context placed in region `?1`, with `extra` (an expression over `c` and `a`) last.
    static func sql(extra: String, ordered: Bool) -> String {
        """
        SELECT c.id, c.placed, c.version, c.deleted, c.body_sum, a.version, a.deleted, a.seq, a.body_sum, c.updated_at, \(extra)
        FROM contexts c LEFT JOIN placements_apart a ON a.region = ?1 AND a.id = c.id
        WHERE \(inPlaced) OR a.id IS NOT NULL\(ordered ? " ORDER BY c.id" : "")
        """
    }

    /// Calls `body` with every placement in `region` (in id order when `ordered`), and the
    /// statement positioned on its row: ``updatedAtColumn`` and ``extraColumn`` are read from it,
    /// during the call only.
    static func forEach(
        _ db: Database, region: Region, extra: String, ordered: Bool, _ body: (Placement, OpaquePointer) throws -> Void
    ) throws {
        let sql = sql(extra: extra, ordered: ordered)
        let statement = try db.cachedStatement(sql: sql).sqliteStatement
        sqlite3_reset(statement)
        defer { sqlite3_reset(statement) }
        let pattern = RegionSeqs.pattern(region)
        sqlite3_bind_text(statement, 1, region.name, -1, RawSQLite.transient)
        sqlite3_bind_text(statement, 2, pattern, -1, RawSQLite.transient)
        let patternBytes = Array(pattern.utf8)
        try RawSQLite.forEachRow(statement, db, sql: sql) {
            if let placement = Placement(statement, pattern: patternBytes) { try body(placement, statement) }
            return true
        }
    }

    /// The placement of the statement's current row of ``sql(extra:ordered:)`` in the region
    /// whose ``RegionSeqs/pattern(_:)`` is `pattern`; nil when there is none.
    init?(_ statement: OpaquePointer, pattern: [UInt8]) {
        id = RawSQLite.text(statement, 0)
        let contextVersion = sqlite3_column_int64(statement, 2)
        if let seq = RegionSeqs.seq(pattern: pattern, in: RawSQLite.bytes(statement, 1)) {
            version = contextVersion
            deleted = sqlite3_column_int64(statement, 3) != 0
            self.seq = seq
            bodySum = RawSQLite.isNull(statement, 4) ? nil : sqlite3_column_int64(statement, 4)
            current = true
            return
        }
        guard !RawSQLite.isNull(statement, 5) else { return nil }
        let apartVersion = sqlite3_column_int64(statement, 5)
        version = apartVersion
        deleted = sqlite3_column_int64(statement, 6) != 0
        seq = sqlite3_column_int64(statement, 7)
        bodySum = RawSQLite.isNull(statement, 8) ? nil : sqlite3_column_int64(statement, 8)
        current = apartVersion == contextVersion
    }
}
