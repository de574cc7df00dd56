import Foundation

/// What a replica publishes in `pane:{R}:replicas`, field `<replica>:digest`, every
/// anti-entropy interval: its digest at its watermark.
public struct DigestReport: Codable, Sendable, Equatable {
    public var replica: String
    public var position: UInt64
    public var timeMs: Int64
    public var digest: String
    /// The digest's format (``ContextDigest/currentFormat``); absent in reports of spokes from
    /// before the body hash, which are format 1.
    public var format: Int?
    /// The highest version the replica holds, of any context: `pane admin restore-hub` starts
    /// the restored hub's versions above it. Absent in older reports.
    public var maxVersion: Int64?
    /// When the scan behind ``digest`` began (before its read transaction), in ms; ``timeMs`` is
    /// when it ended. A change made after this time may be missing from the digest. Absent in
    /// older reports.
    public var scanStartedMs: Int64?

    public init(
        replica: String, position: UInt64, timeMs: Int64, digest: String, format: Int? = nil, maxVersion: Int64? = nil, scanStartedMs: Int64? = nil
    ) {
        self.replica = replica
        self.position = position
        self.timeMs = timeMs
        self.digest = digest
        self.format = format
        self.maxVersion = maxVersion
        self.scanStartedMs = scanStartedMs
    }

    /// The format of ``digest``: 1 when the report does not say.
    public var digestFormat: Int { format ?? 1 }
}
