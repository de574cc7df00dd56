/// Decides when a replica must ask the hub for a resync, from what a worker observes about its
/// replica and the region stream. Pure: the worker gathers an ``Observation`` every maintenance
/// tick (about once a second) and acts on the ``Decision``.
///
/// The signals, in the order they are checked:
/// - the hub's history changed (its id in `pane:{R}:hub` is not the one the replica last synced
///   with: the hub was restored from a backup, `pane admin restore-hub`): every row is taken
///   from the hub again (`new-history`), at once, even while another resync is in flight;
/// - the stream is gone, or its top is below the watermark: Redis lost data (`lost`);
/// - the stream's first entry is past `watermark + 1`: trimmed past the replica (`trimmed`), or,
///   when the replica holds nothing yet, a new replica (`bootstrap`). An empty replica whose
///   stream still starts at seq 1 reads the stream instead;
/// - XAUTOCLAIM reported pending ids that were deleted from the stream (`deleted-pending`);
/// - the watermark stays below the group's last delivered entry, and no consumer of the group
///   holds `watermark + 1` pending, for ``Settings/stallMs``: a seq jump (`seq-gap`), or, when a
///   dead letter marked that very entry stale, only the stale contexts' buckets (`dead-letter`);
/// - a dead letter marked contexts stale: resend their buckets (`dead-letter`).
///
/// A digest mismatch is the hub's finding (``AntiEntropy``), not the replica's.
///
/// One resync is in flight per replica (recorded in the replica's database, shared by its
/// workers). Requests back off exponentially while the same problem stays.
public struct GapDetector: Sendable {
    public struct Settings: Sendable, Equatable {
        /// How long the watermark must stay stalled with nothing pending before it is a gap.
        public var stallMs: Int64 = 2_000
        /// A request the hub has not answered in this time is sent again.
        public var requestTimeoutMs: Int64 = 60_000
        /// Backoff between requests for a problem that stays: first, and cap.
        public var firstBackoffMs: Int64 = 2_000
        public var maxBackoffMs: Int64 = 60_000

        public init() {}
    }

    public struct StreamView: Sendable, Equatable {
        public var length: Int
        /// Seq of the first entry; `nil` when the stream is empty.
        public var firstSeq: UInt64?
        /// Seq of the last id ever added (XINFO STREAM `last-generated-id`).
        public var topSeq: UInt64

        public init(length: Int, firstSeq: UInt64?, topSeq: UInt64) {
            self.length = length
            self.firstSeq = firstSeq
            self.topSeq = topSeq
        }
    }

    public struct InFlight: Sendable, Equatable {
        public var reason: String
        public var requestedAtMs: Int64

        public init(reason: String, requestedAtMs: Int64) {
            self.reason = reason
            self.requestedAtMs = requestedAtMs
        }
    }

    public struct Observation: Sendable, Equatable {
        public var nowMs: Int64
        public var watermark: UInt64
        public var databaseEmpty: Bool
        /// `nil`: the stream does not exist.
        public var stream: StreamView?
        /// The group's last delivered seq; `nil` when the group does not exist.
        public var groupLastDelivered: UInt64?
        /// Whether some consumer of the group holds `watermark + 1` pending.
        public var nextPending: Bool
        /// Pending ids XAUTOCLAIM found deleted since the last observation.
        public var deletedPending: Int
        /// Stale marks: the dead-lettered entry's seq (0 when unknown) and the context id.
        public var stale: [StaleMark]
        /// The resync this replica is waiting for, if any.
        public var inFlight: InFlight?
        /// The hub's highest seq for the region (`pane:{R}:hub`), when known. A stream top or a
        /// group position beyond it is a foreign entry's (see ``EntryIDRule``), not a gap: both
        /// are taken as at most this seq.
        public var hubSeq: UInt64?
        /// The hub's id in `pane:{R}:hub` differs from the one the replica last synced with.
        public var newHistory: Bool

        public init(
            nowMs: Int64, watermark: UInt64, databaseEmpty: Bool, stream: StreamView?, groupLastDelivered: UInt64?, nextPending: Bool,
            deletedPending: Int, stale: [StaleMark], inFlight: InFlight?, hubSeq: UInt64? = nil, newHistory: Bool = false
        ) {
            self.newHistory = newHistory
            self.nowMs = nowMs
            self.watermark = watermark
            self.databaseEmpty = databaseEmpty
            self.stream = stream
            self.groupLastDelivered = groupLastDelivered
            self.nextPending = nextPending
            self.deletedPending = deletedPending
            self.stale = stale
            self.inFlight = inFlight
            self.hubSeq = hubSeq
        }
    }

    public struct StaleMark: Sendable, Equatable {
        public var seq: UInt64
        public var id: String

        public init(seq: UInt64, id: String) {
            self.seq = seq
            self.id = id
        }
    }

    public enum Reason: String, Sendable, Equatable, CaseIterable {
        case lost, bootstrap, trimmed
        case deletedPending = "deleted-pending"
        case seqGap = "seq-gap"
        case deadLetter = "dead-letter"
        case newHistory = "new-history"
    }

    public enum Decision: Sendable, Equatable {
        /// Nothing to repair.
        case healthy
        /// Something to repair, but a request is in flight or backing off.
        case waiting(Reason)
        /// Ask the hub: every bucket when `buckets` is `nil`.
        case resync(Reason, buckets: [Int]?, detail: String)
    }

    public let settings: Settings
    /// The watermark seen stalled, and since when.
    private var stall: (watermark: UInt64, sinceMs: Int64)?
    private var attempts = 0
    private var nextAllowedMs: Int64 = 0

    public init(settings: Settings = Settings()) { self.settings = settings }

    /// Looks at one observation; call about once a second.
    public mutating func decide(_ o: Observation) -> Decision {
        guard let (reason, buckets, detail) = problem(o) else {
            attempts = 0
            nextAllowedMs = 0
            return .healthy
        }
        // A resync asked of the old history does not stand in for one of the new.
        let supersedes = reason == .newHistory && o.inFlight?.reason != Reason.newHistory.rawValue
        if supersedes {
            attempts = 0
            nextAllowedMs = 0
        }
        if let inFlight = o.inFlight, o.nowMs - inFlight.requestedAtMs < settings.requestTimeoutMs, !supersedes {
            return .waiting(reason)
        }
        guard o.nowMs >= nextAllowedMs else { return .waiting(reason) }
        attempts += 1
        let backoff = min(settings.maxBackoffMs, settings.firstBackoffMs << Int64(min(attempts - 1, 20)))
        nextAllowedMs = o.nowMs + backoff
        return .resync(reason, buckets: buckets, detail: detail)
    }

    private mutating func problem(_ observed: Observation) -> (Reason, [Int]?, String)? {
        var o = observed
        if o.newHistory {
            return (.newHistory, nil, "the hub's history changed (a restore from a backup): every row is taken from the hub again")
        }
        if let hubSeq = o.hubSeq {
            // Ids past the hub's highest seq are foreign entries', dead-lettered by the worker.
            o.groupLastDelivered = o.groupLastDelivered.map { min($0, hubSeq) }
            if let top = o.stream?.topSeq { o.stream?.topSeq = min(top, hubSeq) }
        }
        let w = o.watermark
        guard let stream = o.stream else {
            if w == 0 && o.databaseEmpty { return nil }  // nothing published yet
            return (.lost, nil, "the region stream does not exist, but the replica is at seq \(w)")
        }
        if stream.topSeq < w {
            return (.lost, nil, "the stream's last id is seq \(stream.topSeq), below the replica's seq \(w)")
        }
        if w < stream.topSeq, (stream.firstSeq ?? .max) > w + 1 {
            if o.databaseEmpty && w == 0 {
                // An empty replica whose stream still starts at seq 1 just reads it.
                return (.bootstrap, nil, "the replica is empty and the stream no longer starts at seq 1")
            }
            let first = stream.firstSeq.map { "seq \($0)" } ?? "nothing (empty)"
            return (.trimmed, nil, "the stream starts at \(first), past the replica's seq \(w) + 1")
        }
        if o.deletedPending > 0 {
            return (.deletedPending, nil, "\(o.deletedPending) pending entries were deleted from the stream")
        }
        if let delivered = o.groupLastDelivered, w < delivered, !o.nextPending {
            if let stall, stall.watermark == w {
                if o.nowMs - stall.sinceMs >= settings.stallMs {
                    if o.stale.contains(where: { $0.seq == w + 1 }) {
                        return (.deadLetter, Self.buckets(o.stale), "seq \(w + 1) was dead-lettered")
                    }
                    return (.seqGap, nil, "seq \(w + 1) was delivered to the group but is neither applied nor pending")
                }
            } else {
                stall = (w, o.nowMs)
            }
        } else {
            stall = nil
        }
        if !o.stale.isEmpty {
            return (.deadLetter, Self.buckets(o.stale), "\(o.stale.count) contexts are marked stale by dead letters")
        }
        return nil
    }

    static func buckets(_ stale: [StaleMark]) -> [Int] {
        Array(Set(stale.map { ContextDigest.bucket(of: $0.id) })).sorted()
    }
}
