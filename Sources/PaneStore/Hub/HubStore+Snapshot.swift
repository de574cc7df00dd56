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
            // Read through the raw SQLite API (no `Row` and no `Data` per row): a bootstrap reads
            // a million rows here while the replica applies them.
            let sql = """
                SELECT p.id, p.version, p.deleted, p.seq, c.version, c.body, c.updated_at
                FROM placements p LEFT JOIN contexts c ON c.id = p.id
                WHERE p.region = ? ORDER BY p.id
                """
            let statement = try db.cachedStatement(sql: sql).sqliteStatement
            sqlite3_reset(statement)
            defer { sqlite3_reset(statement) }
            sqlite3_bind_text(statement, 1, region.name, -1, RawSQLite.transient)
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
            while true {
                let rc = sqlite3_step(statement)
                if rc == SQLITE_DONE { break }
                guard rc == SQLITE_ROW else { throw RawSQLite.error(rc, db, sql: sql) }
                let idText = RawSQLite.text(statement, 0)
                if let wanted, !wanted[ContextDigest.bucket(of: idText)] { continue }
                let version = sqlite3_column_int64(statement, 1)
                let deleted = sqlite3_column_int64(statement, 2) != 0
                let placedSeq = sqlite3_column_int64(statement, 3)
                let hubHolds = sqlite3_column_type(statement, 4) != SQLITE_NULL && sqlite3_column_int64(statement, 4) == version
                var payload: [UInt8] = []
                var hubTime: Int64 = 0
                var missing = false
                if hubHolds {
                    hubTime = sqlite3_column_int64(statement, 6)
                    if !deleted { payload = RawSQLite.blob(statement, 5) }
                } else if !deleted {
                    missing = true
                }
                chunk.append(
                    SnapshotRow(
                        id: try ContextID(idText), version: version, deleted: deleted, body: payload, hubTimeMs: hubTime,
                        seq: UInt64(max(0, placedSeq)), bodyMissing: missing))
                bytes += payload.count + idText.utf8.count + 31
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
                sql: "INSERT INTO outbox(region, seq, id, version, op, body, ts, ts_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: [
                    region.name, seq, id.value, announcement.epoch, ContextOp.snap.rawValue, Data(announcement.encoded()), nowUs / 1000, nowUs,
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
    /// column) is hashed from the hub's body when the hub still holds that version, and counts
    /// as body hash 0 when it does not (a later write did not target `region`).
    public func digest(region: Region, format: Int = ContextDigest.currentFormat) throws -> (digest: ContextDigest, maxSeq: [UInt64], seq: UInt64) {
        try pool.read { db in
            let seq = try Int64.fetchOne(db, sql: "SELECT last_seq FROM regions WHERE name = ?", arguments: [region.name]) ?? 0
            var digest = ContextDigest()
            var maxSeq = [UInt64](repeating: 0, count: ContextDigest.bucketCount)
            let cursor = try Row.fetchCursor(
                db,
                sql: """
                    SELECT p.id, p.version, p.deleted, p.seq, p.body_sum,
                        CASE WHEN p.body_sum IS NULL AND c.version = p.version THEN c.body END
                    FROM placements p LEFT JOIN contexts c ON c.id = p.id WHERE p.region = ?
                    """,
                arguments: [region.name])
            while let row = try cursor.next() {
                let id: String = row[0]
                let version: Int64 = row[1]
                let deleted: Bool = row[2]
                let placed = UInt64(max(0, row[3] as Int64))
                var bodyHash: UInt64?
                if format >= 2 {
                    if let sum: Int64 = row[4] {
                        bodyHash = UInt64(bitPattern: sum)
                    } else {
                        let body: Data? = row[5]
                        bodyHash = deleted ? 0 : body.map { $0.withUnsafeBytes { ContextDigest.bodyHash($0) } } ?? 0
                    }
                }
                digest.add(id: id, version: version, deleted: deleted, bodyHash: bodyHash)
                let bucket = ContextDigest.bucket(of: id)
                if placed > maxSeq[bucket] { maxSeq[bucket] = placed }
            }
            return (digest, maxSeq, UInt64(max(0, seq)))
        }
    }
}
