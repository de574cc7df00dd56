/// A scenario file that cannot be run, with the field at fault.
public struct ScenarioError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The JSON path of the bad field, such as `faults[2].at`; empty for the file as a whole.
    public let field: String
    /// What is wrong and what is expected.
    public let reason: String

    /// Names `field` and says why it is rejected.
    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String {
        field.isEmpty ? "scenario: \(reason)" : "scenario field '\(field)': \(reason)"
    }
}
