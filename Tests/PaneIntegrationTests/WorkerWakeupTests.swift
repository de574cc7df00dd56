import Foundation
import PaneCore
import PaneRedis
@testable import PaneSpoke
import PaneStore
import PaneTestKit
import Testing

/// What a worker's wake-up leaves behind at moderate rates, where each read brings one small
/// batch: the batch's XACK rides in the next read's pipeline, and the latency log is buffered.
@Suite struct WorkerWakeupTests {
    /// Entries written one at a time, each applied before the next is written (one per
    /// wake-up): every one is acked, also the last, whose ack goes out with a read that blocks,
    /// and every one is in the latency log while the worker idles.
    @Test func entriesAppliedOneAtATimeAreAllAckedAndLogged() async throws {
        try await TestScene.run("wakeup") { scene in
            let writer = try StreamWriter(region: scene.region)
            let log = scene.path("latency.log")
            let worker = try scene.spoke("a", extra: ["--latency-log", log])
            let replica = try ReplicaStore(path: scene.replicaPath("a"))
            let conn = try scene.connection()
            let count: UInt64 = 12
            for seq in 1...count {
                try writer.add(seq, try writer.valid(seq))
                #expect(try await eventually(30, poll: 0.01) { try replica.maxSeq() >= seq }, "seq \(seq): \(worker.log().suffix(800))")
            }
            let group = ConsumerGroup.replica(try ReplicaName("a"))
            #expect(
                try await eventually(10, poll: 0.05) { try conn.xpendingSummary(key: scene.region.keys.updates, group: group).count == 0 },
                "entries left pending: \(String(describing: try? conn.xpendingSummary(key: scene.region.keys.updates, group: group)))")
            #expect(
                await eventually(10, poll: 0.05) { Self.seqs(in: log) == Set(1...count) },
                "latency log: \(Self.seqs(in: log).sorted())")
            #expect(worker.child.isRunning, "the worker stopped: \(worker.log().suffix(500))")
        }
    }

    /// The latency log writes its lines on its timer, and at `close()` whatever the timer has
    /// not written yet.
    @Test func theLatencyLogFlushesOnItsTimerAndWhenClosed() async throws {
        let dir = try TestEnv.directory("latencylog")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let update = { (seq: UInt64) in
            ContextUpdate(seq: seq, id: try ContextID("c\(seq)"), version: 1, op: .put, body: Array("{}".utf8), hubTimeUs: WallClock.nowUs())
        }
        let slow = try #require(LatencyLog(path: "\(dir)/slow.log", logger: TestEnv.logger, flushIntervalMs: 600_000))
        slow.record([try update(1), try update(2)], committedAtUs: WallClock.nowUs())
        #expect(Self.seqs(in: "\(dir)/slow.log").isEmpty, "written before the timer or close")
        slow.close()
        #expect(Self.seqs(in: "\(dir)/slow.log") == [1, 2])
        slow.record([try update(3)], committedAtUs: WallClock.nowUs())
        slow.close()
        #expect(Self.seqs(in: "\(dir)/slow.log") == [1, 2], "a line recorded after close is dropped")

        let timed = try #require(LatencyLog(path: "\(dir)/timed.log", logger: TestEnv.logger, flushIntervalMs: 20))
        timed.record([try update(7)], committedAtUs: WallClock.nowUs())
        #expect(await eventually(10, poll: 0.01) { Self.seqs(in: "\(dir)/timed.log") == [7] })
        timed.close()
    }

    /// The seqs of a latency log's lines.
    static func seqs(in path: String) -> Set<UInt64> {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return Set(text.split(separator: "\n").compactMap { $0.split(separator: " ").first.flatMap { UInt64($0) } })
    }
}
