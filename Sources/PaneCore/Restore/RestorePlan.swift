/// How a hub restored from a backup starts a new history (`pane admin restore-hub`): what it
/// must stay above, decided from what the backup holds and what Redis and the replicas saw.
///
/// The backup knows its history up to each region's `last_seq` (``RegionInput/backupLastSeq``).
/// Whatever the lost hub published after that is *forgotten*: stream entries above that seq,
/// and rows the replicas hold from them. The restored hub therefore
/// - allocates seqs above every seq any stream or the hub's `pane:{R}:hub` field reached, so no
///   seq is handed out twice ("seqs above every stream's last id");
/// - adds ``versionOffset`` to every version it holds, so every version it serves, and every
///   version it writes later, is above any version a replica or a forgotten entry holds, and
///   no (id, version) names two bodies;
/// - deletes the forgotten entries (seq above ``RegionPlan/forgetAbove``) from the streams, so
///   a replica that has not read them yet never applies them.
public struct RestorePlan: Sendable, Equatable {
    /// What is known of one region.
    public struct RegionInput: Sendable, Equatable {
        public var region: Region
        /// `regions.last_seq` in the backup.
        public var backupLastSeq: UInt64
        /// The seq of the stream's last generated id (0 when the stream does not exist).
        public var streamTopSeq: UInt64
        /// The hub's highest seq as `pane:{R}:hub` field `seq` says, if set.
        public var hubSeq: UInt64?
        /// The highest `ver` of the stream entries above ``backupLastSeq`` (0 when none).
        public var forgottenMaxVersion: Int64
        /// The highest version each replica reported with its digest (`maxVersion`).
        public var replicaMaxVersions: [Int64]

        public init(
            region: Region, backupLastSeq: UInt64, streamTopSeq: UInt64, hubSeq: UInt64?, forgottenMaxVersion: Int64,
            replicaMaxVersions: [Int64]
        ) {
            self.region = region
            self.backupLastSeq = backupLastSeq
            self.streamTopSeq = streamTopSeq
            self.hubSeq = hubSeq
            self.forgottenMaxVersion = forgottenMaxVersion
            self.replicaMaxVersions = replicaMaxVersions
        }
    }

    /// What the restored hub does in one region.
    public struct RegionPlan: Sendable, Equatable {
        public var region: Region
        /// The restored hub's `last_seq` (and `published_seq`): its next seq is one above.
        public var lastSeq: UInt64
        /// Stream entries above this seq are the forgotten history's: deleted.
        public var forgetAbove: UInt64
    }

    public var regions: [RegionPlan]
    /// Added to every version of the backup (contexts and placements).
    public var versionOffset: Int64

    /// The plan for `inputs`; `versionFloor` (an operator's `--version-floor`) raises the offset.
    public static func make(_ inputs: [RegionInput], versionFloor: Int64 = 0) -> RestorePlan {
        var offset = max(0, versionFloor)
        for input in inputs {
            offset = max(offset, input.forgottenMaxVersion, input.replicaMaxVersions.max() ?? 0)
        }
        let regions = inputs.map { input in
            RegionPlan(
                region: input.region, lastSeq: max(input.backupLastSeq, input.streamTopSeq, input.hubSeq ?? 0),
                forgetAbove: input.backupLastSeq)
        }
        return RestorePlan(regions: regions, versionOffset: offset)
    }
}
