/// A live context as the replica holds it.
public struct ReaderContext: Sendable, Equatable {
    public let id: String
    public let version: Int64
    /// The JSON body exactly as written.
    public let body: [UInt8]
    /// The hub's commit time of this version, ms since the epoch.
    public let updatedAtMs: Int64
    /// Why the replica may be behind the hub for this context (a dead-lettered update); nil when
    /// it is not marked stale.
    public let staleReason: String?
}
