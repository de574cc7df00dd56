import Foundation
import GRDB
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
            let cursor = try Row.fetchCursor(
                db, sql: Placement.sql(extra: "CASE WHEN \(Placement.inPlaced) OR a.version = c.version THEN c.body END", ordered: true),
                arguments: Placement.arguments(region))
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
            while let row = try cursor.next() {
                let idText: String = row[0]
                if let wanted, !wanted[ContextDigest.bucket(of: idText)] { continue }
                guard let placement = Placement(row, region: region) else { continue }
                let version = placement.version
                let deleted = placement.deleted
                let placedSeq = placement.seq
                var payload: [UInt8] = []
                var hubTime: Int64 = 0
                var missing = false
                if placement.current {
                    hubTime = row[Placement.updatedAtColumn] ?? 0
                    if !deleted {
                        let data: Data = row[Placement.extraColumn] ?? Data()
                        payload = [UInt8](data)
                    }
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
            let cursor = try Row.fetchCursor(db, sql: Placement.sql(extra: body, ordered: false), arguments: Placement.arguments(region))
            while let row = try cursor.next() {
                guard let placement = Placement(row, region: region) else { continue }
                let id = placement.id
                let version = placement.version
                let deleted = placement.deleted
                let placed = UInt64(max(0, placement.seq))
                var bodyHash: UInt64?
                if format >= 2 {
                    if let sum = placement.bodySum {
                        bodyHash = UInt64(bitPattern: sum)
                    } else {
                        let body: Data? = row[Placement.extraColumn]
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

/// One placement of a region as the hub file holds it (``HubSchema/migrateToOneRowPerWrite(_:)``):
/// the context row itself when its `placed` names the region, else the region's row in
/// `placements_apart`. Every reader of placements (snapshot, digest, ``HubStore/state(of:)``)
/// goes through ``sql(extra:ordered:)`` and ``init(_:region:)``.
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
    static let updatedAtColumn = 9
    static let extraColumn = 10

    /// Every context placed in region `?1`, with `extra` (an expression over `c` and `a`) last.
    static func sql(extra: String, ordered: Bool) -> String {
        """
        SELECT c.id, c.placed, c.version, c.deleted, c.body_sum, a.version, a.deleted, a.seq, a.body_sum, c.updated_at, \(extra)
        FROM contexts c LEFT JOIN placements_apart a ON a.region = ?1 AND a.id = c.id
        WHERE \(inPlaced) OR a.id IS NOT NULL\(ordered ? " ORDER BY c.id" : "")
        """
    }

    static func arguments(_ region: Region) -> StatementArguments { [region.name, RegionSeqs.pattern(region)] }

    /// The placement in `region` of a row of ``sql(extra:ordered:)``; nil when there is none.
    init?(_ row: Row, region: Region) {
        id = row[0]
        let contextVersion: Int64 = row[2]
        if let placed: String = row[1], let seq = RegionSeqs.seq(of: region, in: placed) {
            version = contextVersion
            deleted = row[3]
            self.seq = seq
            bodySum = row[4]
            current = true
            return
        }
        guard let apartVersion: Int64 = row[5] else { return nil }
        version = apartVersion
        deleted = row[6]
        seq = row[7]
        bodySum = row[8]
        current = apartVersion == contextVersion
    }
}
