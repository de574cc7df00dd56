import PaneCore
import Testing

@testable import PaneLoadtest

@Suite struct VerdictTests {
    func id(_ text: String) throws -> ContextID { try ContextID(text) }

    @Test func identicalStatesHaveNoDifferences() throws {
        let state = [try id("a"): VersionState(version: 2, deleted: false), try id("b"): VersionState(version: 3, deleted: true)]
        #expect(Verdict.differences(hub: state, replica: state, label: "r/a").isEmpty)
    }

    @Test func everyKindOfDifferenceIsReported() throws {
        let hub = [
            try id("missing"): VersionState(version: 1, deleted: false),
            try id("stale"): VersionState(version: 5, deleted: false),
            try id("tomb"): VersionState(version: 4, deleted: true),
            try id("same"): VersionState(version: 1, deleted: false),
        ]
        let replica = [
            try id("stale"): VersionState(version: 4, deleted: false),
            try id("tomb"): VersionState(version: 4, deleted: false),
            try id("same"): VersionState(version: 1, deleted: false),
            try id("extra"): VersionState(version: 1, deleted: false),
        ]
        let differences = Verdict.differences(hub: hub, replica: replica, label: "r01/a")
        #expect(
            differences == [
                Difference(replica: "r01/a", id: "extra", hub: nil, found: "v1"),
                Difference(replica: "r01/a", id: "missing", hub: "v1", found: nil),
                Difference(replica: "r01/a", id: "stale", hub: "v5", found: "v4"),
                Difference(replica: "r01/a", id: "tomb", hub: "v4(deleted)", found: "v4"),
            ])
        #expect(differences[1].description == "r01/a missing: hub v1, replica missing")
    }

    @Test func deadLetteredContextsAreAccountedFor() throws {
        let hub = [try id("dl"): VersionState(version: 2, deleted: false)]
        let replica = [try id("dl"): VersionState(version: 1, deleted: false)]
        #expect(Verdict.differences(hub: hub, replica: replica, label: "x", deadLettered: [try id("dl")]).isEmpty)
    }
}
