import Foundation
import GRDB
import GRDBSQLite
import PaneCore

extension ReplicaStore {
    /// One context, tombstones included, and its stale mark if a dead letter left one
    /// (``ReplicaReader``: on the calling thread, without a hop).
    public func read(id: ContextID) throws -> ReplicaRead {
        try reader.read(id: id)
    }

    /// Live (not deleted) ids in order, starting after `after`, limited to `prefix`
    /// (``ReplicaReader``: on the calling thread, without a hop).
    public func list(prefix: String, after: String?, limit: Int) throws -> ReplicaPage {
        try reader.list(prefix: prefix, after: after, limit: limit)
    }

    /// The highest seq that wrote a context under `prefix`, and the watermark (``ReplicaReader``).
    public func latestChange(prefix: String) throws -> (seq: UInt64, watermark: UInt64) {
        try reader.latestChange(prefix: prefix)
    }

    /// The smallest string greater than every string starting with `prefix` (ids are ASCII).
    static func upperBound(ofPrefix prefix: String) -> String {
        var bytes = Array(prefix.utf8)
        bytes[bytes.count - 1] += 1
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The highest `seq` applied so far by any worker of this replica.
    public func maxSeq() throws -> UInt64 {
        try pool.read { db in
            UInt64(try Int64.fetchOne(db, sql: "SELECT value FROM replica_state WHERE name = 'max_seq'") ?? 0)
        }
    }

    /// Every context with its version and tombstone flag: what convergence checks compare.
    public func state() throws -> [ContextID: VersionState] {
        try pool.read { db in
            var result: [ContextID: VersionState] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, version, deleted FROM contexts") {
                result[try ContextID(row["id"])] = VersionState(version: row["version"], deleted: row["deleted"])
            }
            return result
        }
    }
}

/// A read from the replica: the context (if any), its stale mark (if any), the seq that wrote
/// it and the replica's watermark, all from one snapshot of the file.
public struct ReplicaRead: Sendable {
    public let context: StoredContext?
    /// Why the replica may be behind the hub for this context: a dead-lettered update.
    public let staleReason: String?
    /// The region seq of the entry that wrote the row (0 without a row).
    public let seq: UInt64
    /// The replica's watermark: every seq up to it is applied.
    public let watermark: UInt64
}

/// A page of live ids and the replica's watermark when it was read.
public struct ReplicaPage: Sendable {
    public let items: [(id: String, version: Int64)]
    public let watermark: UInt64
}

extension ReplicaStore {
    /// A change feed under `prefix` after `position` (nil: a full transfer first), read through
    /// the API's read-only connections (``ChangeFeed``).
    public func changeFeed(prefix: String, after position: WatchPosition?, pageSize: Int = 256) throws -> ChangeFeed {
        try ChangeFeed(reader: reader, prefix: prefix, after: position, pageSize: pageSize)
    }
}

extension ReplicaStore {
    /// The writer connection's page cache, KiB (`PRAGMA cache_size`, given in KiB as a negative
    /// number).
    public func writerCacheKiB() throws -> Int {
        try pool.write { db in -(try Int.fetchOne(db, sql: "PRAGMA cache_size") ?? 0) }
    }
}
