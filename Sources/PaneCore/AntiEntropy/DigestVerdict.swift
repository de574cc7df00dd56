import Foundation

/// What the hub wrote after comparing a replica's digest, field `<replica>:verdict`.
public struct DigestVerdict: Codable, Sendable, Equatable {
    public var replica: String
    public var position: UInt64
    public var differing: [Int]
    public var inFlux: Int
    public var timeMs: Int64
    /// The request id of the resync the hub started for the differing buckets, if any.
    public var resyncRequestID: String?
    /// The ``DigestReport/timeMs`` of the report this verdict judged. Absent in older verdicts.
    public var reportTimeMs: Int64?

    public init(
        replica: String, position: UInt64, differing: [Int], inFlux: Int, timeMs: Int64, resyncRequestID: String?, reportTimeMs: Int64? = nil
    ) {
        self.replica = replica
        self.position = position
        self.differing = differing
        self.inFlux = inFlux
        self.timeMs = timeMs
        self.resyncRequestID = resyncRequestID
        self.reportTimeMs = reportTimeMs
    }
}
