/// A backup or restore of the hub file that cannot be done, worded for the operator.
public struct HubBackupError: Error, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}
