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
        if let problem = sizeProblem(body.count) { return problem }
        return JSONValidator.isValid(body) ? nil : "body is not valid JSON"
    }

    /// Why a body of `count` bytes was refused for its size, or `nil`: ``problem(with:)`` without
    /// the JSON check, for a body its caller has already scanned as one JSON value (a batch
    /// operation's `body`, read by ``BatchRequest``'s scanner).
    public func sizeProblem(_ count: Int) -> String? {
        if count > maxBytes { return "body is \(count) bytes, over the limit of \(maxBytes)" }
        if count == 0 { return "body is empty; a context body is a JSON value" }
        return nil
    }
}
