/// The name of a replica (one SQLite file, one consumer group): same rules as a region name.
public struct ReplicaName: Hashable, Sendable, CustomStringConvertible {
    public let name: String

    public init(_ name: String) throws(ValidationError) {
        do { _ = try Region(name) } catch {
            throw ValidationError(input: "replica", value: name, reason: "a replica name is 1-64 characters of a-z, 0-9, '-', '_' and '.'")
        }
        self.name = name
    }

    /// The consumer group of this replica on its region stream.
    public var group: String { "replica:\(name)" }
    public var description: String { name }
}
