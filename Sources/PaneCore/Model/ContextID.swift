/// The id of a context: 1–256 bytes of visible ASCII (`!` to `~`).
///
/// Visible ASCII keeps ids safe in URLs (once percent-decoded), logs and Redis fields without
/// any escaping rules of our own.
public struct ContextID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The largest id, in bytes.
    public static let maxLength = 256

    /// The validated id.
    public let value: String

    /// Validates `value` as a context id.
    public init(_ value: String) throws(ValidationError) {
        let bytes = value.utf8
        guard (1...Self.maxLength).contains(bytes.count),
            bytes.allSatisfy({ (0x21...0x7E).contains($0) })
        else {
            throw ValidationError(
                input: "context id",
                value: value,
                reason: "a context id is 1-\(Self.maxLength) bytes of visible ASCII ('!' to '~'), got \(bytes.count) bytes"
            )
        }
        self.value = value
    }

    public var description: String { value }
    public static func < (lhs: ContextID, rhs: ContextID) -> Bool { lhs.value < rhs.value }
}
