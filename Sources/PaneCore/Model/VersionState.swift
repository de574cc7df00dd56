/// A version and whether it is a tombstone: what convergence compares.
public struct VersionState: Sendable, Hashable, CustomStringConvertible {
    public let version: Int64
    public let deleted: Bool

    public init(version: Int64, deleted: Bool) {
        self.version = version
        self.deleted = deleted
    }

    public var description: String { deleted ? "v\(version)(deleted)" : "v\(version)" }
}

/// A context as stored by the hub or a replica.
public struct StoredContext: Sendable, Equatable {
    public let id: String
    public let version: Int64
    public let deleted: Bool
    /// The JSON body as written; empty for a tombstone.
    public let body: [UInt8]
    /// The hub's commit time of this version, ms since the epoch.
    public let updatedAtMs: Int64

    public init(id: String, version: Int64, deleted: Bool, body: [UInt8], updatedAtMs: Int64) {
        self.id = id
        self.version = version
        self.deleted = deleted
        self.body = body
        self.updatedAtMs = updatedAtMs
    }
}
