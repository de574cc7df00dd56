import Foundation
import PaneApp
import PaneCore
import PaneRedis
import PaneSpoke
import Testing

@Suite struct MalformedEntryTests {
    /// A malformed entry written straight into the stream neither crashes the worker nor blocks
    /// it: it stays pending and is logged, and the valid entries after it are applied.
    @Test func malformedEntryStaysPendingAndLaterEntriesApply() async throws {
        let dir = try TestEnv.directory("malformed")
        let region = try TestEnv.region("malformed")
        defer { TestEnv.cleanUp([region]) }
        let conn = try TestEnv.connection()
        let key = Keys.updates(region)
        func valid(_ seq: UInt64) throws -> [(String, [UInt8])] {
            StreamEntryCodec.encode(
                ContextUpdate(seq: seq, id: try ContextID("m\(seq)"), version: 1, op: .put, body: Array("{}".utf8), hubTimeMs: WallClock.nowMs()))
        }
        for seq in UInt64(1)...3 { try conn.xadd(key: key, id: "\(seq)-0", fields: try valid(seq)) }
        var broken = try valid(4)
        broken[1] = ("ver", Array("not-a-number".utf8))
        try conn.xadd(key: key, id: "4-0", fields: broken)
        for seq in UInt64(5)...8 { try conn.xadd(key: key, id: "\(seq)-0", fields: try valid(seq)) }

        let spoke = try SpokeProcess.start(region: region, replica: "a", db: "\(dir)/a.sqlite", dir: dir)
        defer { spoke.child.stop() }
        let replica = try ReplicaStore(path: "\(dir)/a.sqlite")
        #expect(try await eventually(20) { try replica.state().count == 7 })
        try conn.xadd(key: key, id: "9-0", fields: try valid(9))
        #expect(try await eventually(20) { try replica.state().count == 8 })
        #expect(try replica.state()[try ContextID("m4")] == nil)
        #expect(spoke.child.isRunning)
        let pending = try conn.command(["XPENDING", RedisArgument(key), "replica:a"]).array
        #expect(pending?.first?.int == 1)
        #expect(pending?[1].string == "4-0")
        #expect(spoke.log().contains("malformed stream entry left pending"))
        #expect(spoke.log().contains("not-a-number"))
    }
}
