import Foundation
import GRDB
import PaneCore

extension ReplicaStore {
    /// The replica's digest in `format` (2: bodies included, 1: without), the watermark it is
    /// taken at, and the highest version held, in one read transaction.
    public func digest(format: Int = ContextDigest.currentFormat) throws -> (digest: ContextDigest, position: UInt64, maxVersion: Int64) {
        try pool.read { db in
            let position = try Self.ranges(db).watermark
            var digest = ContextDigest()
            var maxVersion: Int64 = 0
            let withBodies = format >= 2
            let sql = withBodies ? "SELECT id, version, deleted, body FROM contexts" : "SELECT id, version, deleted FROM contexts"
            let rows = try Row.fetchCursor(db, sql: sql)
            while let row = try rows.next() {
                let version: Int64 = row[1]
                let deleted: Bool = row[2]
                var bodyHash: UInt64?
                if withBodies {
                    let body: Data = row[3] ?? Data()
                    bodyHash = deleted ? 0 : body.withUnsafeBytes { ContextDigest.bodyHash($0) }
                }
                digest.add(id: row[0], version: version, deleted: deleted, bodyHash: bodyHash)
                maxVersion = max(maxVersion, version)
            }
            return (digest, position, maxVersion)
        }
    }

    /// Whether this worker should compute the replica's digest now: at most one worker of the
    /// replica does, every `intervalMs`.
    public func claimDigestTurn(nowMs: Int64, intervalMs: Int64) throws -> Bool {
        // Asked every second by every worker: look first (a read never waits on the writer),
        // and take the write lock only when a turn is due.
        let last = try pool.read { db in try Int64.fetchOne(db, sql: "SELECT value FROM replica_state WHERE name = 'digest_at'") ?? 0 }
        guard last <= nowMs - intervalMs else { return false }
        return try pool.write { db in
            try db.execute(
                sql: "UPDATE replica_state SET value = ? WHERE name = 'digest_at' AND value <= ?", arguments: [nowMs, nowMs - intervalMs])
            return db.changesCount > 0
        }
    }
}
