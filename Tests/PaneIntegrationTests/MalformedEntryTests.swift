import Foundation
import PaneApp
import PaneCore
import PaneRedis
import PaneSpoke
import PaneStore
import PaneTestKit
import Testing

@Suite struct MalformedEntryTests {
    /// A malformed entry written straight into the stream neither crashes the worker nor blocks
    /// it: it goes to the dead-letter stream, and the valid entries after it are applied.
    @Test func malformedEntryIsDeadLetteredAndLaterEntriesApply() async throws {
        try await TestScene.run("malformed") { scene in
            let (region, writer) = (scene.region, try StreamWriter(region: scene.region))
            let conn = writer.conn
            for seq in UInt64(1)...3 { try writer.add(seq, try writer.valid(seq)) }
            var broken = try writer.valid(4)
            broken[1] = ("ver", Array("not-a-number".utf8))
            try writer.add(4, broken)
            for seq in UInt64(5)...8 { try writer.add(seq, try writer.valid(seq)) }

            let spoke = try scene.spoke("a")
            let replica = try ReplicaStore(path: spoke.db)
            #expect(try await eventually(20) { try replica.state().count == 7 })
            try writer.add(9, try writer.valid(9))
            #expect(try await eventually(20) { try replica.state().count == 8 })
            #expect(try replica.state()[try ContextID("m4")] == nil)
            #expect(spoke.child.isRunning)
            let fields = try await scene.onlyDeadLetter(seconds: 10)
            #expect(fields["dlq-entry-id"] == "4-0")
            #expect(fields["dlq-kind"] == "permanent")
            #expect(fields["dlq-reason"]?.contains("not-a-number") == true)
            #expect(fields["ctx"] == "m4")
            #expect(try replica.staleContexts()[try ContextID("m4")] != nil)
            let stale = try spoke.probe().get("/v1/contexts/m4")
            #expect(stale.status == 404 && stale.header("pane-stale") == "1" && stale.text.contains("\"stale\":true"))
            let pending = try conn.xpendingSummary(key: region.keys.updates, group: .replica(ReplicaName("a")))
            #expect(pending.count == 0)
            #expect(spoke.log().contains("entry moved to the dead-letter stream"))
        }
    }
}
