/// Whether a replica applies a `snap` announcement it read from the region stream.
///
/// Applying a snapshot replaces rows and removes the rows it lacks, so a forged announcement
/// could empty a replica. A replica applies one only when:
///
/// - it is for this replica (``SnapshotAnnouncement/isFor(_:)``); others' are only recorded;
/// - its list key is the region's snapshot key for its epoch (`pane:{R}:snapshot:<epoch>`, or
///   `pane:{R}:snapshot:<epoch>:stream` for a streamed snapshot; a spoke from before streaming
///   expects the first, so it refuses a streamed announcement rather than finish it empty);
/// - the seq it is current to lies below the seq of its own entry: the hub announces a
///   snapshot after every entry it covers, so an announcement cannot claim the future. (The
///   entry's seq itself passed ``EntryIDRule``, so it is at or below the stream's top as the
///   hub knows it.);
/// - it answers a request this replica knows: one it sent itself (recorded in its file before
///   it was sent), the request the hub named in its verdict on this replica's digest, or the
///   last admin request of the region.
public enum SnapshotGuard {
    public enum Verdict: Sendable, Equatable {
        /// Apply it.
        case apply
        /// Another replica's: record its seq, nothing else.
        case notForThisReplica
        /// Do not apply it: a dead letter (kind ``EntryError/Kind/refusedSnapshot``) whose detail
        /// names why. Its seq is not recorded as applied: if a forged announcement took one of
        /// the hub's seqs, the replica sees the gap and resyncs.
        case refuse(EntryError)

        static func refused(_ why: String) -> Verdict {
            .refuse(EntryError(.refusedSnapshot, field: StreamEntryCodec.Field.body, detail: "snapshot announcement refused: \(why)"))
        }
    }

    /// The verdict on `announcement`, read at `entrySeq`, for `replica`, whose snapshots live at
    /// `expectedKey` (the region's snapshot key for the announcement's epoch), knowing the
    /// request ids in `known`.
    public static func check(
        _ announcement: SnapshotAnnouncement, entrySeq: UInt64, replica: ReplicaName, expectedKey: String, known: Set<String>
    ) -> Verdict {
        guard announcement.isFor(replica) else { return .notForThisReplica }
        guard announcement.key == expectedKey else {
            return .refused("its snapshot key '\(announcement.key.prefix(100))' is not the region's key for epoch \(announcement.epoch) ('\(expectedKey)')")
        }
        guard announcement.seq < entrySeq else {
            return .refused("it claims seq \(announcement.seq), not below its own entry's seq \(entrySeq)")
        }
        guard announcement.requestIDs.contains(where: known.contains) else {
            let ids = announcement.requestIDs.prefix(5).joined(separator: ",")
            return .refused("it answers no resync request of this replica (requests: \(ids.isEmpty ? "none" : String(ids.prefix(300))))")
        }
        return .apply
    }
}
