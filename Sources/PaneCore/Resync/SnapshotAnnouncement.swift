import Foundation

/// The body of a `snap` entry in a region stream: a snapshot is ready at `key`.
///
/// The snapshot holds, for the listed buckets (all when `nil`), every context the hub places in
/// the region, tombstones included, as of region seq `seq`. A replica it names applies it under
/// the apply rule, removes rows of those buckets that the snapshot lacks and that no entry after
/// `seq` wrote, and raises its watermark to `seq`. Other replicas only record the entry's seq.
public struct SnapshotAnnouncement: Codable, Sendable, Equatable {
    public var key: String
    public var epoch: Int64
    /// The region seq the snapshot is current to.
    public var seq: UInt64
    public var chunks: Int
    public var rows: Int
    /// The replicas it is for; `nil` means every replica of the region.
    public var replicas: [String]?
    public var buckets: [Int]?
    /// The requests it answers.
    public var requestIDs: [String]
    public var reason: String
    /// `true` for a streamed snapshot; absent (legacy) when every chunk was written before the
    /// announcement, as hubs from before streaming always do.
    public var streamed: Bool?

    public init(
        key: String, epoch: Int64, seq: UInt64, chunks: Int, rows: Int, replicas: [String]?, buckets: [Int]?, requestIDs: [String],
        reason: String, streamed: Bool? = nil
    ) {
        self.key = key
        self.epoch = epoch
        self.seq = seq
        self.chunks = chunks
        self.rows = rows
        self.replicas = replicas
        self.buckets = buckets
        self.requestIDs = requestIDs
        self.reason = reason
        self.streamed = streamed
    }

    /// Whether the snapshot is streamed (``streamed``).
    public var isStreamed: Bool { streamed == true }

    public func isFor(_ replica: ReplicaName) -> Bool { replicas?.contains(replica.name) ?? true }

    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return Array((try? encoder.encode(self)) ?? Data())
    }

    public static func decode(_ body: [UInt8]) throws(EntryError) -> SnapshotAnnouncement {
        do { return try JSONDecoder().decode(SnapshotAnnouncement.self, from: Data(body)) } catch {
            throw EntryError(.badBody, field: StreamEntryCodec.Field.body, detail: "snapshot announcement is not the expected JSON: \(error)")
        }
    }
}
