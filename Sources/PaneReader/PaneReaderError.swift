/// A replica file a ``PaneReader`` cannot read: the path and why.
public struct PaneReaderError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String

    public var description: String { "cannot read the replica file \(path): \(reason)" }
}
