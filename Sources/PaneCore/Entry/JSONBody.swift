/// Validates context bodies: valid JSON, at most `maxBytes`.
public struct BodyRules: Sendable, Equatable {
    /// The default limit: 1 MiB.
    public static let defaultMaxBytes = 1 << 20

    /// The largest body accepted, in bytes.
    public var maxBytes: Int

    public init(maxBytes: Int = BodyRules.defaultMaxBytes) {
        self.maxBytes = maxBytes
    }

    /// Why a body was refused, or `nil` when it is acceptable.
    public func problem(with body: [UInt8]) -> String? {
        if body.count > maxBytes {
            return "body is \(body.count) bytes, over the limit of \(maxBytes)"
        }
        if body.isEmpty { return "body is empty; a context body is a JSON value" }
        return JSONValidator.isValid(body) ? nil : "body is not valid JSON"
    }
}
