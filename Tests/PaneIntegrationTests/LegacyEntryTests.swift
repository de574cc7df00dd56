import Foundation
import PaneCore
import PaneStore
import PaneTestKit
import Testing

/// Issue 13: a spoke applies both entry forms in one stream, the `ts` (ms) entries hubs wrote
/// before and the `tsus` (µs) entries they write now, and its latency log records microseconds.
@Suite struct LegacyEntryTests {
    /// A put as a hub from before issue 13 wrote it: `ts` in ms, a `sum` without the time.
    static func legacyPut(_ seq: UInt64, id: ContextID, ts: Int64) -> [(String, [UInt8])] {
        let body = Array(#"{"legacy":true}"#.utf8)
        return [
            ("ctx", Array(id.value.utf8)), ("ver", Array("1".utf8)), ("op", Array("put".utf8)), ("body", body),
            ("ts", Array(String(ts).utf8)), ("sum", Array(Checksum.entry(id: id, version: 1, op: .put, body: body).utf8)),
        ]
    }

    @Test func oldAndNewEntriesApplyAndTheLatencyLogIsInMicroseconds() async throws {
        try await TestScene.run("legacy") { scene in
            let writer = try StreamWriter(region: scene.region)
            let legacyMs = WallClock.nowMs()
            let newUs = WallClock.nowUs()
            try writer.add(1, Self.legacyPut(1, id: try ContextID("old"), ts: legacyMs))
            try writer.add(
                2,
                StreamEntryCodec.encode(
                    ContextUpdate(seq: 2, id: try ContextID("new"), version: 1, op: .put, body: Array("{}".utf8), hubTimeUs: newUs)))
            let log = scene.path("latency.log")
            let worker = try scene.spoke("a", extra: ["--latency-log", log])
            let replica = try ReplicaStore(path: scene.replicaPath("a"))
            let expected: [ContextID: VersionState] = [
                try ContextID("old"): VersionState(version: 1, deleted: false), try ContextID("new"): VersionState(version: 1, deleted: false),
            ]
            #expect(try await eventually(30, poll: 0.1) { try replica.state() == expected })
            #expect(try scene.deadLetters().isEmpty)
            #expect(await eventually(10, poll: 0.1) { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").count >= 2 })
            var hubTimes: [UInt64: Int64] = [:]
            for line in try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n") {
                let parts = line.split(separator: " ")
                #expect(parts.count == 4 && parts[3] == "us", "not a µs line: \(line)")
                guard parts.count == 4, let seq = UInt64(parts[0]), let hub = Int64(parts[1]), let applied = Int64(parts[2]) else { continue }
                hubTimes[seq] = hub
                #expect(applied >= hub, "line \(line): applied before the hub committed")
                #expect(applied - hub < 60_000_000, "line \(line): replica time not in µs")
            }
            #expect(hubTimes == [1: legacyMs * 1000, 2: newUs])
            #expect(worker.child.isRunning, "the worker stopped: \(worker.log().suffix(500))")
        }
    }
}
