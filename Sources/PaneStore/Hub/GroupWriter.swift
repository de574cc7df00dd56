import Foundation
import GRDB
import GRDBSQLite
import PaneCore

/// The writes of one transaction (a group commit, or a single write).
///
/// The hot statements are looked up once per transaction and bound through the raw SQLite API
/// (as `ReplicaStore.apply` does). Region seqs are allocated in memory: the first write to a
/// region in the transaction reads `regions.last_seq`, and ``finish()`` writes the highest seq
/// back once per region, still inside the transaction, so a rollback discards the allocation
/// with the writes.
struct GroupWriter {
    static let selectSQL = "SELECT version, deleted FROM contexts WHERE id = ?"
    static let upsertContextSQL = """
        INSERT INTO contexts(id, version, deleted, body, updated_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT(id) DO UPDATE SET version = excluded.version, deleted = excluded.deleted,
            body = excluded.body, updated_at = excluded.updated_at
        """
    static let insertOutboxSQL = "INSERT INTO outbox(region, seq, id, version, op, body, ts, ts_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    static let upsertPlacementSQL = """
        INSERT INTO placements(region, id, version, deleted, seq, body_sum) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT(region, id) DO UPDATE SET version = excluded.version,
            deleted = excluded.deleted, seq = excluded.seq, body_sum = excluded.body_sum
        """
    static let storeSeqSQL = "UPDATE regions SET last_seq = ? WHERE name = ?"

    let db: Database
    let select: OpaquePointer
    let upsertContext: OpaquePointer
    let insertOutbox: OpaquePointer
    let upsertPlacement: OpaquePointer
    /// The last seq allocated per region in this transaction.
    var lastSeqs: [(region: Region, seq: Int64)] = []
    /// The outbox rows written, for the publisher's in-memory tail once committed.
    var written: [PlacedUpdate] = []

    init(_ db: Database) throws {
        self.db = db
        select = try db.cachedStatement(sql: Self.selectSQL).sqliteStatement
        upsertContext = try db.cachedStatement(sql: Self.upsertContextSQL).sqliteStatement
        insertOutbox = try db.cachedStatement(sql: Self.insertOutboxSQL).sqliteStatement
        upsertPlacement = try db.cachedStatement(sql: Self.upsertPlacementSQL).sqliteStatement
    }

    /// The failure of `request`'s condition, or nil when it has none or it holds. Read in the
    /// group's transaction, so it sees the writes before it in the same group.
    func refusal(_ request: PendingWrite.Request) throws -> WritePreconditionFailed? {
        guard let condition = request.condition else { return nil }
        let (version, deleted) = try current(request.id.value)
        if condition.holds(version: version, deleted: deleted) { return nil }
        return WritePreconditionFailed(id: request.id, condition: condition, version: version, deleted: deleted)
    }

    mutating func write(_ request: PendingWrite.Request) throws -> HubWrite? {
        let id = request.id.value
        let isDelete = request.op == .del
        let (oldVersion, wasDeleted) = try current(id)
        if isDelete && wasDeleted { return nil }
        let version = oldVersion + 1
        // One clock reading: `updated_at` (ms, rounded down) and the entry's `tsus` agree.
        let nowUs = WallClock.nowUs()
        let body = request.body
        // The digest's body hash (format 2), once per write for every region it goes to.
        let bodySum = Int64(bitPattern: isDelete ? 0 : ContextDigest.bodyHash(body))
        try storeContext(id, version: version, isDelete: isDelete, body: body, nowMs: nowUs / 1000)

        var seqs: [Region: UInt64] = [:]
        seqs.reserveCapacity(request.targets.count)
        for region in request.targets {
            let seq = try nextSeq(region)
            let update = ContextUpdate(seq: UInt64(seq), id: request.id, version: version, op: request.op, body: body, hubTimeUs: nowUs)
            try appendOutbox(region, update)
            try place(region, id, version: version, isDelete: isDelete, seq: seq, bodySum: bodySum)
            seqs[region] = UInt64(seq)
        }
        return HubWrite(id: request.id, version: version, seqs: seqs)
    }

    /// Writes a batch: every operation's context row and placements, and for each region it
    /// touches ONE outbox row (one seq, one stream entry) that carries the region's share
    /// (``BatchEntryCodec``), so a replica applies the share in one transaction. Throws
    /// ``BatchMissingContext`` for a delete of a context that does not exist or is deleted; the
    /// caller's transaction then rolls back and nothing of the batch is written.
    mutating func writeBatch(_ items: [(operation: BatchOperation, targets: [Region])]) throws -> [HubWrite] {
        let nowUs = WallClock.nowUs()
        var regionSeqs: [(region: Region, seq: Int64)] = []
        for item in items {
            for region in item.targets where !regionSeqs.contains(where: { $0.region == region }) {
                regionSeqs.append((region, try nextSeq(region)))
            }
        }
        var shares: [Region: [(op: ContextOp, id: ContextID, version: Int64, body: [UInt8])]] = [:]
        var results: [HubWrite] = []
        results.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            let operation = item.operation
            let isDelete = operation.op == .del
            let (oldVersion, wasDeleted) = try current(operation.id.value)
            if isDelete && wasDeleted { throw BatchMissingContext(index: index, id: operation.id) }
            let version = oldVersion + 1
            let bodySum = Int64(bitPattern: isDelete ? 0 : ContextDigest.bodyHash(operation.body))
            try storeContext(operation.id.value, version: version, isDelete: isDelete, body: operation.body, nowMs: nowUs / 1000)
            var seqs: [Region: UInt64] = [:]
            for region in item.targets {
                let seq = regionSeqs.first { $0.region == region }?.seq ?? 0
                try place(region, operation.id.value, version: version, isDelete: isDelete, seq: seq, bodySum: bodySum)
                shares[region, default: []].append((operation.op, operation.id, version, operation.body))
                seqs[region] = UInt64(seq)
            }
            results.append(HubWrite(id: operation.id, version: version, seqs: seqs))
        }
        for (region, seq) in regionSeqs {
            guard let share = shares[region], let first = share.first else { continue }
            let update = ContextUpdate(
                seq: UInt64(seq), id: first.id, version: share.map(\.version).max() ?? first.version, op: .batch,
                body: BatchEntryCodec.encode(share), hubTimeUs: nowUs)
            try appendOutbox(region, update)
        }
        return results
    }

    private func storeContext(_ id: String, version: Int64, isDelete: Bool, body: [UInt8], nowMs: Int64) throws {
        sqlite3_reset(upsertContext)
        sqlite3_bind_text(upsertContext, 1, id, -1, RawSQLite.transient)
        sqlite3_bind_int64(upsertContext, 2, version)
        sqlite3_bind_int(upsertContext, 3, isDelete ? 1 : 0)
        RawSQLite.bind(blob: body, to: upsertContext, at: 4)
        sqlite3_bind_int64(upsertContext, 5, nowMs)
        try step(upsertContext, Self.upsertContextSQL)
    }

    /// One outbox row, remembered for the publisher's in-memory tail.
    private mutating func appendOutbox(_ region: Region, _ update: ContextUpdate) throws {
        let transient = RawSQLite.transient
        sqlite3_reset(insertOutbox)
        sqlite3_bind_text(insertOutbox, 1, region.name, -1, transient)
        sqlite3_bind_int64(insertOutbox, 2, Int64(update.seq))
        sqlite3_bind_text(insertOutbox, 3, update.id.value, -1, transient)
        sqlite3_bind_int64(insertOutbox, 4, update.version)
        sqlite3_bind_text(insertOutbox, 5, update.op.rawValue, -1, transient)
        RawSQLite.bind(blob: update.body, to: insertOutbox, at: 6)
        sqlite3_bind_int64(insertOutbox, 7, update.hubTimeMs)
        sqlite3_bind_int64(insertOutbox, 8, update.hubTimeUs)
        try step(insertOutbox, Self.insertOutboxSQL)
        written.append(PlacedUpdate(region: region, update: update))
    }

    private func place(_ region: Region, _ id: String, version: Int64, isDelete: Bool, seq: Int64, bodySum: Int64) throws {
        let transient = RawSQLite.transient
        sqlite3_reset(upsertPlacement)
        sqlite3_bind_text(upsertPlacement, 1, region.name, -1, transient)
        sqlite3_bind_text(upsertPlacement, 2, id, -1, transient)
        sqlite3_bind_int64(upsertPlacement, 3, version)
        sqlite3_bind_int(upsertPlacement, 4, isDelete ? 1 : 0)
        sqlite3_bind_int64(upsertPlacement, 5, seq)
        sqlite3_bind_int64(upsertPlacement, 6, bodySum)
        try step(upsertPlacement, Self.upsertPlacementSQL)
    }

    /// Stores the seqs allocated in this transaction in `regions.last_seq`.
    func finish() throws {
        guard !lastSeqs.isEmpty else { return }
        let statement = try db.cachedStatement(sql: Self.storeSeqSQL)
        for entry in lastSeqs {
            try statement.execute(arguments: [entry.seq, entry.region.name])
        }
    }

    /// The context's current version and tombstone flag; `(0, true)` when it is unknown.
    private func current(_ id: String) throws -> (Int64, Bool) {
        sqlite3_reset(select)
        defer { sqlite3_reset(select) }
        sqlite3_bind_text(select, 1, id, -1, RawSQLite.transient)
        switch sqlite3_step(select) {
        case SQLITE_ROW: return (sqlite3_column_int64(select, 0), sqlite3_column_int64(select, 1) != 0)
        case SQLITE_DONE: return (0, true)
        case let rc: throw RawSQLite.error(rc, db, sql: Self.selectSQL)
        }
    }

    private mutating func nextSeq(_ region: Region) throws -> Int64 {
        if let index = lastSeqs.firstIndex(where: { $0.region == region }) {
            lastSeqs[index].seq += 1
            return lastSeqs[index].seq
        }
        let last = try Int64.fetchOne(db.cachedStatement(sql: HubStore.lastSeqSQL), arguments: [region.name]) ?? 0
        lastSeqs.append((region, last + 1))
        return last + 1
    }

    /// Steps a bound statement and resets it, so it holds nothing between writes.
    private func step(_ statement: OpaquePointer, _ sql: String) throws {
        defer { sqlite3_reset(statement) }
        try RawSQLite.stepDone(statement, db, sql: sql)
    }
}

/// A write waiting for a group commit.
struct PendingWrite: Sendable {
    struct Request: Sendable {
        let id: ContextID
        let op: ContextOp
        let body: [UInt8]
        let targets: [Region]
        var condition: WriteCondition? = nil
    }
    let request: Request
    let continuation: UnsafeContinuation<HubWrite?, any Error>
}

/// The outcome of a hub write: the new version, and the `seq` it got in each region.
public struct HubWrite: Sendable, Equatable {
    public let id: ContextID
    public let version: Int64
    public let seqs: [Region: UInt64]
}

/// A batch deletes a context that does not exist or is already deleted: nothing of the batch
/// was written. `index` is the operation's position in the batch.
public struct BatchMissingContext: Error, Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let id: ContextID

    public var description: String { "operation \(index): context '\(id)' does not exist or is already deleted" }
}

/// A conditional write (`If-Match`, `If-None-Match: *`) whose condition did not hold: nothing was
/// written. `version` is the context's current version (0 when it never existed).
public struct WritePreconditionFailed: Error, Sendable, Equatable, CustomStringConvertible {
    public let id: ContextID
    public let condition: WriteCondition
    public let version: Int64
    public let deleted: Bool

    public var description: String {
        let state = version == 0 ? "does not exist" : deleted ? "is deleted (version \(version))" : "is at version \(version)"
        switch condition {
        case .version(let expected): return "context '\(id)' \(state), not at version \(expected)"
        case .exists: return "context '\(id)' \(state)"
        case .absent: return "context '\(id)' already exists at version \(version)"
        }
    }
}
