/// A replica's SQLite file, as handed to a runner hook.
public struct ReplicaFile: Sendable, Equatable {
    /// `region/replica`.
    public let label: String
    public let path: String
}
