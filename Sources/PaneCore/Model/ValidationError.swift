/// Bad input: names the input, the offending value and what would be accepted.
public struct ValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The input that was wrong: a flag, a config key, a field, a URL part.
    public let input: String
    /// The value as received (truncated to 80 characters for display).
    public let value: String
    /// What the input must look like.
    public let reason: String

    public init(input: String, value: String, reason: String) {
        self.input = input
        self.value = value.count > 80 ? String(value.prefix(77)) + "..." : value
        self.reason = reason
    }

    public var description: String { "invalid \(input) '\(value)': \(reason)" }
}
