import Foundation
import PaneCore
import PaneRedis
import PaneStore

/// `pane admin restore-hub`: puts a backup of the hub file in place as the start of a new
/// history (``RestorePlan``), and tells Redis, so that every replica takes everything from the
/// restored hub again. The hub must be stopped. Blocking (hiredis, SQLite): call it from a
/// thread of its own.
///
/// In order: the backup is copied to the hub's path and migrated; each region's stream, the
/// hub's `pane:{R}:hub` fields and the replicas' digest reports are read; the copy gets a new
/// hub id, raised versions and seqs (``HubBackup/restartHistory(database:plan:restoredFrom:)``);
/// the forgotten entries are deleted from the streams; and `pane:{R}:hub` gets the new id and
/// seq. A spoke that sees another hub id than the one it holds asks for a full resync
/// (`new-history`), whether it runs now or starts later.
public struct HubRestoreAdmin: Sendable {
    /// What a restore did.
    public struct Outcome: Sendable, Encodable {
        public var hubID: String
        public var previousHubID: String
        public var versionOffset: Int64
        public var contexts: Int
        public var regions: [RegionOutcome]
        /// Where the hub file that was replaced went, if there was one.
        public var movedAside: [String]
    }

    public struct RegionOutcome: Sendable, Encodable {
        public var region: String
        public var backupLastSeq: UInt64
        public var lastSeq: UInt64
        public var forgottenEntries: Int
    }

    public let backup: String
    public let database: String
    /// The Redis of each region; regions not listed use `defaultRedis`.
    public let redisByRegion: [Region: RedisEndpoint]
    public let defaultRedis: RedisEndpoint
    public let versionFloor: Int64
    /// Move an existing hub file (and its `-wal`, `-shm`) aside instead of refusing.
    public let force: Bool
    /// The hub's regions (`hub.regions`), when known: a region the backup does not have (added
    /// after it) gets a seq above its stream's last id too, and its whole stream is forgotten.
    public var hubRegions: [Region] = []

    public init(
        backup: String, database: String, redisByRegion: [Region: RedisEndpoint], defaultRedis: RedisEndpoint, versionFloor: Int64 = 0,
        force: Bool = false
    ) {
        self.backup = backup
        self.database = database
        self.redisByRegion = redisByRegion
        self.defaultRedis = defaultRedis
        self.versionFloor = versionFloor
        self.force = force
    }

    public func run(progress: (String) -> Void = { _ in }) throws -> Outcome {
        do { return try restore(progress: progress) } catch let error as HubBackupError {
            throw AdminError.badFile(error.description)
        }
    }

    func restore(progress: (String) -> Void) throws -> Outcome {
        let source = try HubBackup.contents(of: backup)
        guard !source.lastSeqs.isEmpty else { throw AdminError.badFile("\(backup) is a hub database without regions") }
        var moved: [(from: String, to: String)] = []
        let existing = [database, database + "-wal", database + "-shm"].filter { FileManager.default.fileExists(atPath: $0) }
        if !existing.isEmpty {
            guard force else {
                throw AdminError.badFile(
                    "\(database) exists: stop the hub, then run again with --force to move it aside (it is kept, not deleted)")
            }
            let suffix = ".replaced-\(WallClock.nowMs())"
            for path in existing {
                try FileManager.default.moveItem(atPath: path, toPath: path + suffix)
                moved.append((path, path + suffix))
            }
            progress("moved the old hub database aside: \(moved.map(\.to).joined(separator: ", "))")
        }
        // Until the new history is written, a failure (Redis unreachable, say) leaves things as
        // they were: the copy is removed and the old file put back.
        let copy: HubBackup.Contents
        let plan: RestorePlan
        let forgotten: [Region: [String]]
        let hubID: String
        do {
            copy = try HubBackup.prepare(backup: backup, database: database)
            let names = copy.regions.map(\.name).joined(separator: ",")
            progress("copied \(backup) to \(database): \(copy.contexts) contexts, regions \(names)")
            let observed = try observe(copy)
            forgotten = observed.forgotten
            plan = RestorePlan.make(observed.inputs, versionFloor: versionFloor)
            hubID = try HubBackup.restartHistory(database: database, plan: plan, restoredFrom: backup)
        } catch {
            for path in [database, database + "-wal", database + "-shm"] { try? FileManager.default.removeItem(atPath: path) }
            for file in moved { try? FileManager.default.moveItem(atPath: file.to, toPath: file.from) }
            throw error
        }
        progress("new history \(hubID) (was \(copy.hubID)); versions raised by \(plan.versionOffset)")

        var outcomes: [RegionOutcome] = []
        for regionPlan in plan.regions {
            let region = regionPlan.region
            let conn = try AdminRedis.connect(to: redis(region))
            defer { conn.close() }
            let ids = forgotten[region] ?? []
            for start in stride(from: 0, to: ids.count, by: 1_000) {
                try conn.xdel(key: region.keys.updates, ids: Array(ids[start..<min(ids.count, start + 1_000)]))
            }
            // The stream's last id stays at or above the hub's published seq, so retention does not
            // take the restored seqs for lost stream data.
            if let info = try conn.xinfoStream(key: region.keys.updates),
                (info["last-generated-id"]?.string.flatMap(Self.seqPart) ?? 0) < regionPlan.lastSeq
            {
                try conn.xsetid(key: region.keys.updates, lastID: StreamEntryCodec.entryID(seq: regionPlan.lastSeq))
            }
            // The new id tells every spoke, running or not yet, that its rows are another history's.
            _ = try conn.hset(key: region.keys.hub, field: RegionKeys.HubField.seq, value: String(regionPlan.lastSeq))
            _ = try conn.hset(key: region.keys.hub, field: RegionKeys.HubField.id, value: hubID)
            progress(
                "\(region.name): seqs continue after \(regionPlan.lastSeq) (backup: \(regionPlan.forgetAbove)); "
                    + "deleted \(ids.count) forgotten entries from \(region.keys.updates)")
            outcomes.append(
                RegionOutcome(region: region.name, backupLastSeq: regionPlan.forgetAbove, lastSeq: regionPlan.lastSeq, forgottenEntries: ids.count))
        }
        return Outcome(
            hubID: hubID, previousHubID: copy.hubID, versionOffset: plan.versionOffset, contexts: copy.contexts, regions: outcomes,
            movedAside: moved.map(\.to))
    }

    /// What Redis knows of each region: the plan's inputs, and the ids of the forgotten entries.
    func observe(_ copy: HubBackup.Contents) throws -> (inputs: [RestorePlan.RegionInput], forgotten: [Region: [String]]) {
        var inputs: [RestorePlan.RegionInput] = []
        var forgotten: [Region: [String]] = [:]
        let regions = copy.regions + hubRegions.filter { copy.lastSeqs[$0] == nil }.sorted { $0.name < $1.name }
        for region in regions {
            let conn = try AdminRedis.connect(to: redis(region))
            defer { conn.close() }
            let lastSeq = copy.lastSeqs[region] ?? 0
            let info = try conn.xinfoStream(key: region.keys.updates)
            let top = info?["last-generated-id"]?.string.flatMap(Self.seqPart) ?? 0
            let hubSeq = (try conn.hmget(key: region.keys.hub, fields: [RegionKeys.HubField.seq]).first ?? nil).flatMap { UInt64($0) }
            var ids: [String] = []
            var maxVersion: Int64 = 0
            var start = "(\(StreamEntryCodec.entryID(seq: lastSeq))"
            while true {
                let entries = try conn.xrange(key: region.keys.updates, start: start, count: 1_000)
                guard let last = entries.last else { break }
                for entry in entries {
                    ids.append(entry.id)
                    let ver = entry.fields?.first { $0.0 == StreamEntryCodec.Field.ver }.flatMap { Int64(String(decoding: $0.1, as: UTF8.self)) }
                    // A `snap` announcement's `ver` is its epoch, not a context version.
                    let op = entry.fields?.first { $0.0 == StreamEntryCodec.Field.op }.map { String(decoding: $0.1, as: UTF8.self) }
                    if let ver, op != ContextOp.snap.rawValue { maxVersion = max(maxVersion, ver) }
                }
                start = "(\(last.id)"
            }
            var replicaMax: [Int64] = []
            for (field, value) in try conn.hgetall(key: region.keys.replicas) where field.hasSuffix(":digest") {
                if let report = StatusJSON.decode(DigestReport.self, value.string), let max = report.maxVersion { replicaMax.append(max) }
            }
            forgotten[region] = ids
            inputs.append(
                RestorePlan.RegionInput(
                    region: region, backupLastSeq: lastSeq, streamTopSeq: top, hubSeq: hubSeq, forgottenMaxVersion: maxVersion,
                    replicaMaxVersions: replicaMax))
        }
        return (inputs, forgotten)
    }

    func redis(_ region: Region) -> RedisEndpoint { redisByRegion[region] ?? defaultRedis }

    static func seqPart(_ id: String) -> UInt64? { id.split(separator: "-").first.flatMap { UInt64($0) } }
}
