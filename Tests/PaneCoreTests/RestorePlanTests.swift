import PaneCore
import Testing

@Suite struct RestorePlanTests {
    func input(
        _ name: String, backup: UInt64, top: UInt64, hub: UInt64? = nil, forgotten: Int64 = 0, replicas: [Int64] = []
    ) throws -> RestorePlan.RegionInput {
        RestorePlan.RegionInput(
            region: try Region(name), backupLastSeq: backup, streamTopSeq: top, hubSeq: hub, forgottenMaxVersion: forgotten,
            replicaMaxVersions: replicas)
    }

    /// Seqs restart above the highest of the backup, the stream's last id and the hub field;
    /// entries above the backup's seq are forgotten; versions move above everything seen.
    @Test func seqsAndVersionsStartAboveEverythingSeen() throws {
        let plan = RestorePlan.make([
            try input("eu", backup: 100, top: 5_100, hub: 5_090, forgotten: 42, replicas: [40, 17]),
            try input("us", backup: 80, top: 60, hub: 90, forgotten: 0, replicas: [55]),
        ])
        #expect(plan.versionOffset == 55)
        #expect(plan.regions.map(\.lastSeq) == [5_100, 90])
        #expect(plan.regions.map(\.forgetAbove) == [100, 80])
    }

    /// Nothing forgotten and no replica report: versions stay; a floor raises them.
    @Test func floorAndNothingSeen() throws {
        #expect(RestorePlan.make([try input("eu", backup: 7, top: 7)]).versionOffset == 0)
        #expect(RestorePlan.make([try input("eu", backup: 7, top: 0)]).regions[0].lastSeq == 7)
        #expect(RestorePlan.make([try input("eu", backup: 7, top: 7, replicas: [3])], versionFloor: 1_000).versionOffset == 1_000)
        #expect(RestorePlan.make([try input("eu", backup: 7, top: 7)], versionFloor: -5).versionOffset == 0)
    }
}
