/// How far the hub may trim a region stream: the retention rule, without I/O.
///
/// Everything a live replica has not applied (seq above its watermark) stays, so a replica
/// that keeps up never finds a hole. Two caps bound the stream anyway: a number of entries and
/// an age. Past a cap the stream is trimmed regardless, and the replicas it leaves behind are
/// named; they detect the hole and resync. The hub trims with `XTRIM key MINID <cut>-0`, which
/// removes the entries with seq below `cut`.
public enum Retention {
    /// Why a cut is where it is.
    public enum Reason: String, Sendable, Equatable {
        /// Nothing to trim.
        case nothing
        /// Up to what every live replica has applied.
        case replicas
        /// The entry cap (`hub.retentionMaxEntries`).
        case maxEntries = "max-entries"
        /// The age cap (`hub.retentionMaxAgeSeconds`).
        case maxAge = "max-age"
        /// The byte cap (`hub.retentionMaxBytes`), as a number of entries (``entryCap(maxEntries:maxBytes:streamBytes:streamLength:)``).
        case maxBytes = "max-bytes"
    }

    /// The entry cap that also keeps a stream within `maxBytes` (issue 10, item 5), and whether
    /// the byte cap is the smaller one. Redis does not count a stream's bytes exactly;
    /// `streamBytes` is its estimate (`MEMORY USAGE key`, which samples the stream's nodes), so
    /// an entry is taken to cost `streamBytes / streamLength` (overhead included), and the stream
    /// keeps `maxBytes` divided by that, at least 1. `maxEntries` or `maxBytes` 0: no such cap;
    /// both 0: 0 (no cap).
    public static func entryCap(maxEntries: Int, maxBytes: Int, streamBytes: Int?, streamLength: Int) -> (entries: Int, byBytes: Bool) {
        guard maxBytes > 0, let streamBytes, streamLength > 0, streamBytes > 0 else { return (maxEntries, false) }
        let perEntry = max(1, streamBytes / streamLength)
        let byBytes = max(1, maxBytes / perEntry)
        if maxEntries > 0 && maxEntries <= byBytes { return (maxEntries, false) }
        return (byBytes, true)
    }

    /// The outcome of ``cut(streamFirst:streamTop:published:liveWatermarks:maxEntries:ageCutSeq:)``.
    public struct Decision: Sendable, Equatable {
        /// Trim every entry with a seq below this (`XTRIM MINID <minID>-0`); `nil` trims nothing.
        public var minID: UInt64?
        /// Live replicas whose unapplied entries this cut removes, sorted.
        public var leftBehind: [String]
        public var reason: Reason

        public init(minID: UInt64?, leftBehind: [String], reason: Reason) {
            self.minID = minID
            self.leftBehind = leftBehind
            self.reason = reason
        }

        static let nothing = Decision(minID: nil, leftBehind: [], reason: .nothing)
    }

    /// Decides where to trim one region stream.
    ///
    /// - Parameters:
    ///   - streamFirst: the seq of the stream's first entry; `nil` when the stream is empty.
    ///   - streamTop: the seq of the stream's last entry.
    ///   - published: the region's `published_seq`. Entries above it stay: the publisher may be
    ///     re-sending them after a restart and must find them to recognise them as its own.
    ///   - liveWatermarks: the watermark of every live replica (heartbeat within the timeout).
    ///     Empty when none is live or none ever sent a heartbeat: only the caps trim then.
    ///   - maxEntries: keep at most this many entries; 0 for no cap.
    ///   - ageCutSeq: the highest seq published longer ago than the age cap; `nil` when unknown
    ///     or when there is no age cap.
    public static func cut(
        streamFirst: UInt64?, streamTop: UInt64, published: UInt64, liveWatermarks: [String: UInt64], maxEntries: Int,
        ageCutSeq: UInt64?
    ) -> Decision {
        guard let first = streamFirst, streamTop >= first else { return .nothing }
        var capCut: UInt64 = 0
        var capReason = Reason.nothing
        if maxEntries > 0, streamTop - first + 1 > UInt64(maxEntries) {
            capCut = streamTop + 1 - UInt64(maxEntries)
            capReason = .maxEntries
        }
        if let ageCutSeq, ageCutSeq < UInt64.max, ageCutSeq + 1 > capCut {
            capCut = ageCutSeq + 1
            capReason = .maxAge
        }
        var cut: UInt64
        var reason: Reason
        if let lowest = liveWatermarks.values.min() {
            let replicaCut = lowest == UInt64.max ? lowest : lowest + 1
            if capCut > replicaCut {
                cut = capCut
                reason = capReason
            } else {
                cut = replicaCut
                reason = .replicas
            }
        } else {
            cut = capCut
            reason = capReason
        }
        // Always keep the newest entry (so the stream tells where it is) and every entry the
        // publisher has not confirmed yet.
        cut = min(cut, streamTop, published == UInt64.max ? published : published + 1)
        guard cut > first else { return .nothing }
        let behind = liveWatermarks.filter { $0.value < cut - 1 }.keys.sorted()
        return Decision(minID: cut, leftBehind: behind, reason: reason)
    }

    /// Maps an age to a seq from samples of (time, last published seq), oldest first: the
    /// highest seq already published at `nowMs - maxAgeMs`, or `nil` when no sample is that old.
    public static func ageCutSeq(samples: [(timeMs: Int64, seq: UInt64)], nowMs: Int64, maxAgeMs: Int64) -> UInt64? {
        guard maxAgeMs > 0 else { return nil }
        let horizon = nowMs - maxAgeMs
        return samples.last(where: { $0.timeMs <= horizon })?.seq
    }
}
