/// A config file that is not JSON, or a key in a file or a `PANE_…` variable that names no
/// setting. The process prints it and exits 2, like a bad value.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}
