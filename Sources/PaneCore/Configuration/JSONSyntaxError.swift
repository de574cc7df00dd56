/// Where a JSON text stops being JSON: the line and column (both from 1) of the first byte
/// that is wrong, and what was expected there. Used for config files, so a person sees
/// `line 3, column 14` instead of a parser's error code.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public let line: Int
    public let column: Int
    public let reason: String

    public init(line: Int, column: Int, reason: String) {
        self.line = line
        self.column = column
        self.reason = reason
    }

    public var description: String { "line \(line), column \(column): \(reason)" }
}
