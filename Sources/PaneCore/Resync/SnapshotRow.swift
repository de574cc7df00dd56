import Foundation

/// One context in a snapshot.
public struct SnapshotRow: Sendable, Equatable {
    public var id: ContextID
    public var version: Int64
    public var deleted: Bool
    /// The body of `version`; empty for tombstones and for ``bodyMissing`` rows.
    public var body: [UInt8]
    public var hubTimeMs: Int64
    /// The region seq of the update that wrote this version.
    public var seq: UInt64
    /// The hub's current version is newer than the one placed in this region (a later write
    /// did not target it), so the hub no longer holds this version's body. The replica keeps
    /// what it has for this id and does not remove it.
    public var bodyMissing: Bool

    public init(id: ContextID, version: Int64, deleted: Bool, body: [UInt8], hubTimeMs: Int64, seq: UInt64, bodyMissing: Bool = false) {
        self.id = id
        self.version = version
        self.deleted = deleted
        self.body = body
        self.hubTimeMs = hubTimeMs
        self.seq = seq
        self.bodyMissing = bodyMissing
    }
}
