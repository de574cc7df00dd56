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
///
/// A write stores two rows (``HubSchema/migrateToOneRowPerWrite(_:)``): its context, whose
/// `placed` names the regions it went to with their seqs, and one `outbox_writes` row naming
/// the same. `placements_apart` is written only when a region leaves or joins the placed set.
struct GroupWriter {
    static let selectSQL = "SELECT version, deleted, placed, body_sum, rowid FROM contexts WHERE id = ?"
    /// A known context's row, rewritten where ``selectSQL`` found it: no second lookup of the
    /// id in the primary key's index, as the upsert's conflict check does (issue 13). Its
    /// parameters are numbered as the upsert's, the rowid in the id's place (``storeContext``).
    static let updateContextSQL = """
        UPDATE contexts SET version = ?2, deleted = ?3, body = ?4, updated_at = ?5, placed = ?6, body_sum = ?7 WHERE rowid = ?1
        """
    static let upsertContextSQL = """
        INSERT INTO contexts(id, version, deleted, body, updated_at, placed, body_sum) VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(id) DO UPDATE SET version = excluded.version, deleted = excluded.deleted,
            body = excluded.body, updated_at = excluded.updated_at, placed = excluded.placed, body_sum = excluded.body_sum
        """
    static let insertOutboxSQL = "INSERT INTO outbox_writes(seqs, id, version, op, body, ts_us) VALUES (?, ?, ?, ?, ?, ?)"
    static let upsertApartSQL = """
        INSERT INTO placements_apart(region, id, version, deleted, seq, body_sum) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT(region, id) DO UPDATE SET version = excluded.version,
            deleted = excluded.deleted, seq = excluded.seq, body_sum = excluded.body_sum
        """
    static let deleteApartSQL = "DELETE FROM placements_apart WHERE region = ? AND id = ?"
    static let storeSeqSQL = "UPDATE regions SET last_seq = ? WHERE name = ?"

    /// A context row as the write path reads it.
    struct Current {
        var version: Int64 = 0
        var deleted = true
        /// `contexts.placed`; nil for an unknown context or one last written before migration v7.
        var placed: String?
        var bodySum: Int64?
        var exists = false
        /// Where the row is (`contexts` is a rowid table); nil for an unknown context.
        var rowid: Int64?
    }

    let db: Database
    let select: OpaquePointer
    let upsertContext: OpaquePointer
    let updateContext: OpaquePointer
    let insertOutbox: OpaquePointer
    /// The last seq allocated per region in this transaction.
    var lastSeqs: [(region: Region, seq: Int64)] = []
    /// The outbox rows written, for the publisher's in-memory tail once committed.
    var written: [PlacedUpdate] = []

    init(_ db: Database) throws {
        self.db = db
        select = try db.cachedStatement(sql: Self.selectSQL).sqliteStatement
        upsertContext = try db.cachedStatement(sql: Self.upsertContextSQL).sqliteStatement
        updateContext = try db.cachedStatement(sql: Self.updateContextSQL).sqliteStatement
        insertOutbox = try db.cachedStatement(sql: Self.insertOutboxSQL).sqliteStatement
    }

    /// The failure of `request`'s condition, or nil when it has none or it holds. Read in the
    /// group's transaction, so it sees the writes before it in the same group.
    func refusal(_ request: PendingWrite.Request) throws -> WritePreconditionFailed? {
        guard let condition = request.condition else { return nil }
        let current = try current(request.id.value)
        if condition.holds(version: current.version, deleted: current.deleted) { return nil }
        return WritePreconditionFailed(id: request.id, condition: condition, version: current.version, deleted: current.deleted)
    }

    /// Writes a group commit's requests, each checked and written as ``refusal(_:)`` and
    /// ``write(_:)`` do one at a time. A group of at least two writes to distinct contexts (at
    /// most ``BatchRequest/maxOperations``) is published as a batch: each region gets ONE seq and
    /// one stream entry for its share (``writeBatch(_:)``), so Redis, the publisher and every
    /// replica handle one entry per region per group instead of one per write. A group that names
    /// a context twice is written one write at a time (a later write's condition must see the
    /// earlier one), as is what is left of a group after refusals when it is one write.
    mutating func writeGroup(_ requests: [PendingWrite.Request]) throws -> [Result<HubWrite?, any Error>] {
        var results: [Result<HubWrite?, any Error>] = []
        results.reserveCapacity(requests.count)
        guard requests.count >= 2, requests.count <= BatchRequest.maxOperations, Set(requests.map(\.id)).count == requests.count else {
            for request in requests {
                if let refusal = try refusal(request) {
                    results.append(.failure(refusal))
                } else {
                    results.append(.success(try write(request)))
                }
            }
            return results
        }
        // Distinct contexts: no write of the group changes what another's checks read.
        var packed: [(operation: BatchOperation, targets: [Region])] = []
        var positions: [Int] = []
        for (index, request) in requests.enumerated() {
            if let refusal = try refusal(request) {
                results.append(.failure(refusal))
            } else if request.op == .del, try current(request.id.value).deleted {
                results.append(.success(nil))
            } else {
                results.append(.success(nil))
                packed.append((BatchOperation(op: request.op, id: request.id, body: request.body), request.targets))
                positions.append(index)
            }
        }
        if packed.count == 1 {
            results[positions[0]] = .success(try write(requests[positions[0]]))
        } else if packed.count > 1 {
            for (position, write) in zip(positions, try writeBatch(packed)) { results[position] = .success(write) }
        }
        return results
    }

    mutating func write(_ request: PendingWrite.Request) throws -> HubWrite? {
        let id = request.id.value
        let isDelete = request.op == .del
        let old = try current(id)
        if isDelete && old.deleted { return nil }
        let version = old.version + 1
        // One clock reading: `updated_at` (ms, rounded down) and the entry's `tsus` agree.
        let nowUs = WallClock.nowUs()
        let body = request.body
        // The digest's body hash (format 2), once per write for every region it goes to.
        let bodySum = Int64(bitPattern: isDelete ? 0 : ContextDigest.bodyHash(body))

        var placed = RegionSeqs()
        placed.entries.reserveCapacity(request.targets.count)
        var seqs: [Region: UInt64] = [:]
        seqs.reserveCapacity(request.targets.count)
        for region in request.targets {
            let seq = try nextSeq(region)
            placed.entries.append((region.name, seq))
            seqs[region] = UInt64(seq)
        }
        let placedText = placed.text
        try movePlacements(id, from: old, to: placed)
        try storeContext(
            id, at: old.rowid, version: version, isDelete: isDelete, body: body, nowMs: nowUs / 1000, placed: placedText, bodySum: bodySum)
        let update = ContextUpdate(seq: 0, id: request.id, version: version, op: request.op, body: body, hubTimeUs: nowUs)
        try appendOutbox(placedText, update)
        for (region, entry) in zip(request.targets, placed.entries) {
            var regional = update
            regional.seq = UInt64(entry.seq)
            written.append(PlacedUpdate(region: region, update: regional))
        }
        return HubWrite(id: request.id, version: version, seqs: seqs)
    }

    /// Writes a batch: every operation's context row and placements, and for each region it
    /// touches ONE seq and one stream entry that carries the region's share (``BatchEntryCodec``),
    /// so a replica applies the share in one transaction. When every operation goes to every
    /// region the batch touches, one outbox row names them all (as a single write's does); else
    /// each region's share has a row of its own. Throws
    /// ``BatchMissingContext`` for a delete of a context that does not exist or is deleted; the
    /// caller's transaction then rolls back and nothing of the batch is written.
    mutating func writeBatch(_ items: [(operation: BatchOperation, targets: [Region])]) throws -> [HubWrite] {
        // Deletes are checked before anything is written, so a refused batch costs reads, not a
        // batch of writes and their rollback. A batch names each id once, so no earlier
        // operation of it can create the context a delete names.
        for (index, item) in items.enumerated() where item.operation.op == .del {
            if try current(item.operation.id.value).deleted { throw BatchMissingContext(index: index, id: item.operation.id) }
        }
        let nowUs = WallClock.nowUs()
        var regionSeqs: [(region: Region, seq: Int64)] = []
        for item in items {
            for region in item.targets where !regionSeqs.contains(where: { $0.region == region }) {
                regionSeqs.append((region, try nextSeq(region)))
            }
        }
        // Operations with the same regions (usually all of them: the hub's list) share their
        // placed set, its text and their seqs: built once per run of equal target lists, not per
        // operation (issue 13: the hub's CPU per batch operation).
        var placement = Placement(targets: [], regionSeqs: regionSeqs)
        var versions: [Int64] = []
        versions.reserveCapacity(items.count)
        var results: [HubWrite] = []
        results.reserveCapacity(items.count)
        for item in items {
            let operation = item.operation
            let isDelete = operation.op == .del
            if item.targets != placement.targets { placement = Placement(targets: item.targets, regionSeqs: regionSeqs) }
            let old = try current(operation.id.value)
            let version = old.version + 1
            let bodySum = Int64(bitPattern: isDelete ? 0 : ContextDigest.bodyHash(operation.body))
            try movePlacements(operation.id.value, from: old, to: placement.placed)
            try storeContext(
                operation.id.value, at: old.rowid, version: version, isDelete: isDelete, body: operation.body, nowMs: nowUs / 1000,
                placed: placement.text, bodySum: bodySum)
            versions.append(version)
            results.append(HubWrite(id: operation.id, version: version, seqs: placement.seqs))
        }
        // Every operation to every region the batch touches (the usual case): one outbox row names
        // all of them, as a single write's does, instead of one copy of the share per region.
        let sameShares = regionSeqs.count > 1 && items.allSatisfy { $0.targets.count == regionSeqs.count }
        if sameShares {
            let share = items.indices.map { (items[$0].operation.op, items[$0].operation.id, versions[$0], items[$0].operation.body) }
            let update = ContextUpdate(
                seq: 0, id: share[0].1, version: versions.max() ?? share[0].2, op: .batch, body: BatchEntryCodec.encode(share),
                hubTimeUs: nowUs)
            try appendOutbox(RegionSeqs(regionSeqs.map { ($0.region.name, $0.seq) }).text, update)
            for (region, seq) in regionSeqs {
                var regional = update
                regional.seq = UInt64(seq)
                written.append(PlacedUpdate(region: region, update: regional))
            }
            return results
        }
        for (region, seq) in regionSeqs {
            let share = items.indices.filter { items[$0].targets.contains(region) }.map {
                (items[$0].operation.op, items[$0].operation.id, versions[$0], items[$0].operation.body)
            }
            guard let first = share.first else { continue }
            let update = ContextUpdate(
                seq: UInt64(seq), id: first.1, version: share.map(\.2).max() ?? first.2, op: .batch,
                body: BatchEntryCodec.encode(share), hubTimeUs: nowUs)
            try appendOutbox(RegionSeqs([(region.name, seq)]).text, update)
            written.append(PlacedUpdate(region: region, update: update))
        }
        return results
    }

    /// The placement shared by a batch's operations with one target list: the regions with the
    /// seq the batch got in each, as entries, as `contexts.placed` text and as a write's seqs.
    struct Placement {
        let targets: [Region]
        let placed: RegionSeqs
        let text: String
        let seqs: [Region: UInt64]

        init(targets: [Region], regionSeqs: [(region: Region, seq: Int64)]) {
            var placed = RegionSeqs()
            placed.entries.reserveCapacity(targets.count)
            var seqs: [Region: UInt64] = [:]
            seqs.reserveCapacity(targets.count)
            for region in targets {
                let seq = regionSeqs.first { $0.region == region }?.seq ?? 0
                placed.entries.append((region.name, seq))
                seqs[region] = UInt64(seq)
            }
            self.targets = targets
            self.placed = placed
            self.text = placed.text
            self.seqs = seqs
        }
    }

    private func storeContext(
        _ id: String, at rowid: Int64?, version: Int64, isDelete: Bool, body: [UInt8], nowMs: Int64, placed: String, bodySum: Int64
    ) throws {
        let transient = RawSQLite.transient
        // Parameters 2-7 are the same in both statements; 1 is the rowid or the id.
        func bindRow(_ statement: OpaquePointer) {
            sqlite3_reset(statement)
            sqlite3_bind_int64(statement, 2, version)
            sqlite3_bind_int(statement, 3, isDelete ? 1 : 0)
            RawSQLite.bind(blob: body, to: statement, at: 4)
            sqlite3_bind_int64(statement, 5, nowMs)
            sqlite3_bind_text(statement, 6, placed, -1, transient)
            sqlite3_bind_int64(statement, 7, bodySum)
        }
        if let rowid {
            bindRow(updateContext)
            sqlite3_bind_int64(updateContext, 1, rowid)
            try step(updateContext, Self.updateContextSQL)
            // Read in this transaction by its only writer, so the row is there; should it not
            // be, the upsert below writes it.
            if sqlite3_changes(db.sqliteConnection) == 1 { return }
        }
        bindRow(upsertContext)
        sqlite3_bind_text(upsertContext, 1, id, -1, transient)
        try step(upsertContext, Self.upsertContextSQL)
    }

    /// Keeps `placements_apart` holding exactly the placements of regions outside the context's
    /// placed set: a region `old` went to and `new` does not keeps `old`'s version there, and a
    /// region joining the placed set loses its row there. Nothing to do when the set is unchanged
    /// (a write to every region after one to every region).
    private func movePlacements(_ id: String, from old: Current, to new: RegionSeqs) throws {
        guard old.exists else { return }
        // The usual case, checked on the stored text without parsing it: the same regions again.
        if let text = old.placed, RegionSeqs.sameRegions(text, as: new.entries) { return }
        let before = old.placed.map(RegionSeqs.init(text:)) ?? RegionSeqs()
        for entry in before.entries where new.seq(of: entry.region) == nil {
            let statement = try db.cachedStatement(sql: Self.upsertApartSQL)
            try statement.execute(arguments: [entry.region, id, old.version, old.deleted, entry.seq, old.bodySum])
        }
        for entry in new.entries where before.seq(of: entry.region) == nil {
            try db.cachedStatement(sql: Self.deleteApartSQL).execute(arguments: [entry.region, id])
        }
    }

    /// One outbox row naming its regions and their seqs (`update.seq` is not stored).
    private func appendOutbox(_ seqs: String, _ update: ContextUpdate) throws {
        let transient = RawSQLite.transient
        sqlite3_reset(insertOutbox)
        sqlite3_bind_text(insertOutbox, 1, seqs, -1, transient)
        sqlite3_bind_text(insertOutbox, 2, update.id.value, -1, transient)
        sqlite3_bind_int64(insertOutbox, 3, update.version)
        sqlite3_bind_text(insertOutbox, 4, update.op.rawValue, -1, transient)
        RawSQLite.bind(blob: update.body, to: insertOutbox, at: 5)
        sqlite3_bind_int64(insertOutbox, 6, update.hubTimeUs)
        try step(insertOutbox, Self.insertOutboxSQL)
    }

    /// Stores the seqs allocated in this transaction in `regions.last_seq`.
    func finish() throws {
        guard !lastSeqs.isEmpty else { return }
        let statement = try db.cachedStatement(sql: Self.storeSeqSQL)
        for entry in lastSeqs {
            try statement.execute(arguments: [entry.seq, entry.region.name])
        }
    }

    /// The context's current row; version 0, deleted, when it is unknown.
    private func current(_ id: String) throws -> Current {
        sqlite3_reset(select)
        defer { sqlite3_reset(select) }
        sqlite3_bind_text(select, 1, id, -1, RawSQLite.transient)
        switch sqlite3_step(select) {
        case SQLITE_ROW:
            var current = Current(version: sqlite3_column_int64(select, 0), deleted: sqlite3_column_int64(select, 1) != 0, exists: true)
            if sqlite3_column_type(select, 2) != SQLITE_NULL, let text = sqlite3_column_text(select, 2) {
                current.placed = String(cString: text)
            }
            if sqlite3_column_type(select, 3) != SQLITE_NULL { current.bodySum = sqlite3_column_int64(select, 3) }
            current.rowid = sqlite3_column_int64(select, 4)
            return current
        case SQLITE_DONE: return Current()
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
    /// Who waits for the write: a task, or a callback (the hub's routes on the event loop).
    enum Waiter: Sendable {
        case task(UnsafeContinuation<HubWrite?, any Error>)
        case callback(@Sendable (Result<HubWrite?, any Error>) -> Void)
    }
    let request: Request
    let waiter: Waiter

    func resume(with result: Result<HubWrite?, any Error>) {
        switch waiter {
        case .task(let continuation): continuation.resume(with: result)
        case .callback(let done): done(result)
        }
    }
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
