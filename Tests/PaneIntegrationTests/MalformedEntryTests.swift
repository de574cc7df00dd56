import Foundation
import PaneApp
import PaneCore
import PaneRedis
import PaneSpoke
import PaneStore
import Testing

/// Plays the hub: writes entries straight into a region stream with the codec.
struct StreamWriter {
    let conn: RedisConnection
    let key: StreamKey

    func valid(_ seq: UInt64, id: String? = nil, version: Int64 = 1, body: String = "{}") throws -> [(String, [UInt8])] {
        StreamEntryCodec.encode(
            ContextUpdate(seq: seq, id: try ContextID(id ?? "m\(seq)"), version: version, op: .put, body: Array(body.utf8), hubTimeMs: WallClock.nowMs()))
    }

    func add(_ seq: UInt64, _ fields: [(String, [UInt8])]) throws {
        try conn.xadd(key: key, id: "\(seq)-0", fields: fields)
    }
}

@Suite struct MalformedEntryTests {
    /// A malformed entry written straight into the stream neither crashes the worker nor blocks
    /// it: it goes to the dead-letter stream, and the valid entries after it are applied.
    @Test func malformedEntryIsDeadLetteredAndLaterEntriesApply() async throws {
        let dir = try TestEnv.directory("malformed")
        let region = try TestEnv.region("malformed")
        defer { TestEnv.cleanUp([region]) }
        let conn = try TestEnv.connection()
        let writer = StreamWriter(conn: conn, key: region.keys.updates)
        for seq in UInt64(1)...3 { try writer.add(seq, try writer.valid(seq)) }
        var broken = try writer.valid(4)
        broken[1] = ("ver", Array("not-a-number".utf8))
        try writer.add(4, broken)
        for seq in UInt64(5)...8 { try writer.add(seq, try writer.valid(seq)) }

        let spoke = try SpokeProcess.start(region: region, replica: "a", db: "\(dir)/a.sqlite", dir: dir)
        defer { spoke.child.stop() }
        let replica = try ReplicaStore(path: "\(dir)/a.sqlite")
        #expect(try await eventually(20) { try replica.state().count == 7 })
        try writer.add(9, try writer.valid(9))
        #expect(try await eventually(20) { try replica.state().count == 8 })
        #expect(try replica.state()[try ContextID("m4")] == nil)
        #expect(spoke.child.isRunning)
        #expect(try await eventually(10) { try conn.xlen(key: region.keys.deadLetters) == 1 })
        let letter = try #require(try conn.xrange(key: region.keys.deadLetters).first)
        let fields = Dictionary((letter.fields ?? []).map { ($0.0, String(decoding: $0.1, as: UTF8.self)) }) { a, _ in a }
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
