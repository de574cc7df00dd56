import Foundation
import GRDB
import GRDBSQLite
import PaneCore

extension HubStore {
    /// Writes `body` as the next version of `id`, for `regions` (all when `nil`).
    public func put(id: ContextID, body: [UInt8], regions requested: [Region]? = nil) throws -> HubWrite {
        let targets = try targets(requested)
        let result = try pool.writeWithoutTransaction { db in
            try self.writeOneCommitted(db, PendingWrite.Request(id: id, op: .put, body: body, targets: targets))
        }
        doorbell.ring()
        return result ?? HubWrite(id: id, version: 0, seqs: [:])
    }

    /// Deletes `id` (a tombstone with the next version); `nil` when it is unknown or already deleted.
    public func delete(id: ContextID, regions requested: [Region]? = nil) throws -> HubWrite? {
        let targets = try targets(requested)
        let result = try pool.writeWithoutTransaction { db in
            try self.writeOneCommitted(db, PendingWrite.Request(id: id, op: .del, body: [], targets: targets))
        }
        if result != nil { doorbell.ring() }
        return result
    }

    /// Async forms for request handlers. Concurrent writes are committed together (group
    /// commit) on GRDB's writer queue: one transaction writes the touched pages to the WAL once
    /// for the whole group instead of once per write.
    ///
    /// With a `condition` (`If-Match`, `If-None-Match: *`), the write happens only if it holds
    /// when the group commits, else it throws ``WritePreconditionFailed`` and writes nothing;
    /// the rest of the group commits as usual.
    public func put(id: ContextID, body: [UInt8], regions requested: [Region]? = nil, condition: WriteCondition? = nil) async throws -> HubWrite {
        let targets = try targets(requested)
        let result = try await enqueue(PendingWrite.Request(id: id, op: .put, body: body, targets: targets, condition: condition))
        return result ?? HubWrite(id: id, version: 0, seqs: [:])
    }

    public func delete(id: ContextID, regions requested: [Region]? = nil, condition: WriteCondition? = nil) async throws -> HubWrite? {
        let targets = try targets(requested)
        return try await enqueue(PendingWrite.Request(id: id, op: .del, body: [], targets: targets, condition: condition))
    }

    /// Callback forms of ``put(id:body:regions:condition:)`` and
    /// ``delete(id:regions:condition:)``, for callers that are not tasks (the hub's routes on
    /// the event loop): `done` runs once, on the writer's queue after the group commits (or at
    /// once, for a region this hub does not publish to).
    public func put(
        id: ContextID, body: [UInt8], regions requested: [Region]?, condition: WriteCondition?,
        done: @escaping @Sendable (Result<HubWrite, any Error>) -> Void
    ) {
        let targets: [Region]
        do { targets = try self.targets(requested) } catch { return done(.failure(error)) }
        enqueue(PendingWrite.Request(id: id, op: .put, body: body, targets: targets, condition: condition)) { result in
            done(result.map { $0 ?? HubWrite(id: id, version: 0, seqs: [:]) })
        }
    }

    public func delete(
        id: ContextID, regions requested: [Region]?, condition: WriteCondition?,
        done: @escaping @Sendable (Result<HubWrite?, any Error>) -> Void
    ) {
        let targets: [Region]
        do { targets = try self.targets(requested) } catch { return done(.failure(error)) }
        enqueue(PendingWrite.Request(id: id, op: .del, body: [], targets: targets, condition: condition), done: done)
    }

    func enqueue(_ request: PendingWrite.Request) async throws -> HubWrite? {
        // Unsafe rather than checked: `drain` resumes every queued continuation exactly once, and
        // the checked form costs an allocation per write on this hot path.
        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<HubWrite?, any Error>) in
            enqueue(PendingWrite(request: request, waiter: .task(continuation)))
        }
    }

    func enqueue(_ request: PendingWrite.Request, done: @escaping @Sendable (Result<HubWrite?, any Error>) -> Void) {
        enqueue(PendingWrite(request: request, waiter: .callback(done)))
    }

    private func enqueue(_ write: PendingWrite) {
        if pending.append(write) { pool.asyncWriteWithoutTransaction { db in self.drain(db) } }
    }

    /// Commits every queued write in one transaction; if that fails, one by one, so a bad write
    /// fails alone.
    func drain(_ db: Database) {
        let batch = pending.take()
        guard !batch.isEmpty else { return }
        let start = CommitMetrics.start()
        var results: [Result<HubWrite?, any Error>] = []
        results.reserveCapacity(batch.count)
        do {
            var written: [PlacedUpdate] = []
            try db.immediateTransaction {
                var writer = try GroupWriter(db)
                results = try writer.writeGroup(batch.map(\.request))
                try writer.finish()
                written = writer.written
            }
            committed(written)
        } catch {
            results = batch.map { item in
                Result { try self.writeOneCommitted(db, item.request) }
            }
        }
        doorbell.ring()
        commitMetrics.record(writes: results.count { (try? $0.get()) != nil }, since: start)
        for (item, result) in zip(batch, results) { item.resume(with: result) }
    }

    /// One write in a transaction of its own, handed to the publisher after its commit.
    func writeOneCommitted(_ db: Database, _ request: PendingWrite.Request) throws -> HubWrite? {
        var result: HubWrite?
        var written: [PlacedUpdate] = []
        try db.immediateTransaction {
            var writer = try GroupWriter(db)
            if let refusal = try writer.refusal(request) { throw refusal }
            result = try writer.write(request)
            try writer.finish()
            written = writer.written
        }
        committed(written)
        return result
    }

    /// Hands committed outbox rows to the publisher's in-memory tail. Called on the writer queue
    /// right after the commit, so the tail is in commit (and so seq) order.
    func committed(_ written: [PlacedUpdate]) {
        guard !written.isEmpty else { return }
        fresh.withLock { $0.append(written) }
    }

    /// Publishes the current version of each of `ids` to `region` again, with new seqs: how a
    /// dead letter is replayed (from the hub's truth, never from the stale payload).
    /// The rows carry the replay marker (``ContextUpdate/replay``): their time is the original
    /// commit's, so spokes count them apart from replication lag.
    /// Returns the ids republished and the ids the hub does not know.
    public func republish(ids: [ContextID], region: Region) async throws -> (republished: [ContextID], missing: [ContextID]) {
        _ = try targets([region])
        let result = try await pool.write { db -> ([ContextID], [ContextID]) in
            var done: [ContextID] = []
            var missing: [ContextID] = []
            for id in ids {
                guard
                    let row = try Row.fetchOne(
                        db, sql: "SELECT version, deleted, body, updated_at, placed FROM contexts WHERE id = ?", arguments: [id.value])
                else {
                    missing.append(id)
                    continue
                }
                let deleted: Bool = row["deleted"]
                let seq = try Int64.fetchOne(
                    db, sql: "UPDATE regions SET last_seq = last_seq + 1 WHERE name = ? RETURNING last_seq", arguments: [region.name]) ?? 0
                let body: Data = row["body"]
                let bodySum = Int64(bitPattern: deleted ? 0 : body.withUnsafeBytes { ContextDigest.bodyHash($0) })
                try db.execute(
                    sql: "INSERT INTO outbox_writes(seqs, id, version, op, body, ts_us, replay) VALUES (?, ?, ?, ?, ?, ?, 1)",
                    arguments: [
                        RegionSeqs([(region.name, seq)]).text, id.value, row["version"] as Int64, deleted ? "del" : "put",
                        deleted ? Data() : body, (row["updated_at"] as Int64) * 1000,
                    ])
                // The region now holds the current version again: it joins (or stays in) the
                // context's placed set with its new seq (``HubSchema/migrateToOneRowPerWrite(_:)``).
                var placed = RegionSeqs(text: row["placed"] as String? ?? "")
                if let index = placed.entries.firstIndex(where: { $0.region == region.name }) {
                    placed.entries[index].seq = seq
                } else {
                    placed.entries.append((region.name, seq))
                    try db.execute(sql: GroupWriter.deleteApartSQL, arguments: [region.name, id.value])
                }
                try db.execute(
                    sql: "UPDATE contexts SET placed = ?, body_sum = ? WHERE id = ?", arguments: [placed.text, bodySum, id.value])
                done.append(id)
            }
            return (done, missing)
        }
        outboxWrittenDirectly(region)
        doorbell.ring()
        return (result.0, result.1)
    }
}
