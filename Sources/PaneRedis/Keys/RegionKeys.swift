import PaneCore

/// Every Redis key of one region, named in this one place.
///
/// Each key is `pane:{R}:<what>`. The region name in braces is the key's hash tag: Redis Cluster
/// hashes only the tag, so every key of a region lands on the same slot, and multi-key commands
/// and MULTI/EXEC over them stay legal on a cluster. Region names (`a-z`, `0-9`, `-`, `_`, `.`)
/// hold no brace and no glob character, so the tag and the patterns below are exact.
///
/// The formats are on disk in every Redis that Pane has written to: change none of them.
public struct RegionKeys: Hashable, Sendable {
    public let region: Region

    public init(_ region: Region) { self.region = region }

    /// `{R}`: the hash tag every key of the region carries.
    public var hashTag: String { "{\(region.name)}" }

    /// `pane:{R}:updates`: the region stream. Entry ids are `<seq>-0`.
    public var updates: StreamKey { StreamKey("pane:{\(region.name)}:updates") }
    /// `pane:{R}:dlq`: the region's dead letters.
    public var deadLetters: StreamKey { StreamKey("pane:{\(region.name)}:dlq") }
    /// `pane:{R}:resync`: resync requests from the region's replicas and admins to the hub,
    /// read through the group ``ConsumerGroup/hub``.
    public var resyncRequests: StreamKey { StreamKey("pane:{\(region.name)}:resync") }
    /// `pane:{R}:replicas`: per replica its heartbeat (`<replica>`), digest report
    /// (`<replica>:digest`) and the hub's verdict on it (`<replica>:verdict`).
    public var replicas: HashKey { HashKey("pane:{\(region.name)}:replicas") }
    /// `pane:{R}:hub`: what the hub and admins tell the region's replicas (fields in
    /// ``HubField``): the identity of the hub's database history, the hub's highest seq for the
    /// region, and the last admin resync request.
    public var hub: HashKey { HashKey("pane:{\(region.name)}:hub") }
    /// `pane:{R}:snapshot:<epoch>`: one resync snapshot, a list of chunks with an expiry.
    public func snapshot(epoch: Int64) -> ListKey { ListKey("pane:{\(region.name)}:snapshot:\(epoch)") }
    /// `pane:{R}:snapshot:<epoch>:stream`: one streamed resync snapshot, a list of elements
    /// (``SnapshotStreamCodec``) that grows while the replica reads it. A name of its own, so a
    /// spoke from before streaming refuses its announcement (``SnapshotGuard``) instead of
    /// reading it as a finished snapshot.
    public func streamedSnapshot(epoch: Int64) -> ListKey { ListKey("pane:{\(region.name)}:snapshot:\(epoch):stream") }
    /// The list key an announcement of snapshot `epoch` must name: streamed or not.
    public func snapshot(epoch: Int64, streamed: Bool) -> ListKey { streamed ? streamedSnapshot(epoch: epoch) : snapshot(epoch: epoch) }
    /// `pane:{R}:snapshot:*`: every snapshot of the region.
    public var snapshots: KeyPattern { KeyPattern("pane:{\(region.name)}:snapshot:*") }

    /// The region's keys of fixed name (snapshots excluded: find them with ``snapshots``).
    public var all: [any RedisKeyName] { [updates, deadLetters, resyncRequests, replicas, hub] }

    /// The fields of ``hub``.
    public enum HubField {
        /// The identity of the hub's database history (`hub_meta.hub_id`), which every position
        /// token (`Pane-Index`) carries; written every retention round.
        public static let id = "id"
        /// The hub's highest seq for the region (its last allocated seq as its publisher knows
        /// it), written in the same pipeline as, and before, the entries the hub publishes: every
        /// hub entry a worker can read is at or below the value it reads here afterwards.
        public static let seq = "seq"
        /// The request id of the last `pane admin resync`, written before the request is sent,
        /// so the replicas know that the snapshot answering it was asked for.
        public static let adminRequest = "admin-request"
        /// The newest anti-entropy digest format the hub compares (`ContextDigest.currentFormat`),
        /// written every retention round: a spoke reports in format 2 (bodies) only once its hub
        /// says it reads it, so spokes may be upgraded before the hub.
        public static let digestFormat = "digest-format"
    }

    /// `pane:{*}:updates`: the stream of every region.
    public static let everyRegionStream = KeyPattern("pane:{*}:updates")

    /// The region whose stream `key` is, or nil when `key` is not a `pane:{R}:updates` key.
    public static func region(ofStream key: some RedisKeyName) -> Region? {
        let text = key.rawValue
        let head = "pane:{"
        let tail = "}:updates"
        guard text.hasPrefix(head), text.hasSuffix(tail), text.utf8.count > head.utf8.count + tail.utf8.count else { return nil }
        return try? Region(String(text.dropFirst(head.count).dropLast(tail.count)))
    }
}

extension Region {
    /// The region's Redis keys.
    public var keys: RegionKeys { RegionKeys(self) }
}

extension SnapshotAnnouncement {
    /// The list holding the announced snapshot's chunks (``RegionKeys/snapshot(epoch:)`` as the
    /// hub wrote it into the announcement).
    public var listKey: ListKey { ListKey(key) }
}
