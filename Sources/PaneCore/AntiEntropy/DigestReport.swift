import Foundation

/// What a replica publishes in `pane:{R}:replicas`, field `<replica>:digest`, every
/// anti-entropy interval: its digest at its watermark.
public struct DigestReport: Codable, Sendable, Equatable {
    public var replica: String
    public var position: UInt64
    public var timeMs: Int64
    public var digest: String

    public init(replica: String, position: UInt64, timeMs: Int64, digest: String) {
        self.replica = replica
        self.position = position
        self.timeMs = timeMs
        self.digest = digest
    }
}
