/// One operation of a batch write (`POST /v1/batch`): a `put` of a body or a `del`, of one
/// context, to some regions (all when ``regions`` is nil).
public struct BatchOperation: Sendable, Hashable {
    /// `.put` or `.del`.
    public let op: ContextOp
    public let id: ContextID
    /// The JSON body of a `put`, exactly as sent; empty for a `del`.
    public let body: [UInt8]
    /// The regions named by the operation's `regions`; nil means every region of the hub.
    public let regions: [Region]?

    public init(op: ContextOp, id: ContextID, body: [UInt8], regions: [Region]? = nil) {
        self.op = op
        self.id = id
        self.body = body
        self.regions = regions
    }
}

/// Why a batch was refused: the index of the operation at fault (nil when the batch as a whole
/// is wrong) and what was wrong with it. Nothing of a refused batch is written.
public struct BatchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The 0-based position of the operation at fault in the request's list.
    public let index: Int?
    public let reason: String

    public init(index: Int?, reason: String) {
        self.index = index
        self.reason = reason
    }

    public var description: String {
        guard let index else { return "invalid batch: \(reason)" }
        return "invalid batch: operation \(index): \(reason)"
    }
}
