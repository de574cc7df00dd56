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

    /// A round sent as the hub sends it (`HSET` of its highest seq, then one XADD per entry, one
    /// pipeline) to a worker blocked on its read is applied in one transaction: Redis wakes the
    /// worker after the first XADD, and the worker reads the rest before it applies (the top-up).
    /// All the round's latency-log lines carry one commit time. A malformed entry inside a round
    /// is still dead-lettered with its reason, and the rest of the round lands.
    @Test func aHubRoundIsAppliedInOneTransaction() async throws {
        try await TestScene.run("topup") { scene in
            let writer = try StreamWriter(region: scene.region)
            let log = scene.path("latency.log")
            let worker = try scene.spoke("a", extra: ["--latency-log", log])
            let replica = try ReplicaStore(path: scene.replicaPath("a"))
            let conn = try scene.connection()
            let group = ConsumerGroup.replica(try ReplicaName("a"))
            let (size, rounds): (UInt64, UInt64) = (20, 3)
            var last: UInt64 = 0
            for round in 0...rounds {
                // Round 0 is one entry: the worker is up and its group exists.
                let seqs = round == 0 ? [UInt64(1)] : Array(last + 1...last + size)
                // The worker acks the round before (and its seqs are logged) in the pipeline of
                // its next read, so with nothing pending that read, which blocks, has gone out.
                #expect(
                    try await eventually(30, poll: 0.01) {
                        try replica.maxSeq() >= last && (try? conn.xpendingSummary(key: scene.region.keys.updates, group: group).count) == 0
                    }, "round \(round - 1) not applied and acked: \(worker.log().suffix(800))")
                var commands = RedisCommandBuffer()
                commands.hset(key: scene.region.keys.hub, field: RegionKeys.HubField.seq, value: Int(seqs.last!))
                for seq in seqs {
                    var fields = try writer.valid(seq)
                    if round == 2 && seq == seqs[5] { fields[1] = ("ver", Array("not-a-number".utf8)) }
                    commands.xadd(key: writer.key, id: "\(seq)-0", fields: fields)
                }
                try conn.send(commands)
                _ = try conn.receive(seqs.count + 1)
                last = seqs.last!
                let expected = round == 2 ? seqs.filter { $0 != seqs[5] } : seqs
                #expect(
                    await eventually(30, poll: 0.01) { Set(expected).isSubset(of: Self.seqs(in: log)) },
                    "round \(round): latency log \(Self.seqs(in: log).sorted()); \(worker.log().suffix(800))")
                let commits = Self.commitTimes(in: log, seqs: Set(expected))
                #expect(commits.count == 1, "round \(round) took \(commits.count) transactions: \(commits.sorted())")
            }
            let letter = try await scene.onlyDeadLetter(seconds: 10, log: String(worker.log().suffix(800)))
            #expect(letter["dlq-reason"]?.contains("not-a-number") == true, "\(letter)")
            #expect(try replica.maxSeq() == last)
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

        // A batch entry's line counts its writes; a single write's has no count.
        let counted = try #require(LatencyLog(path: "\(dir)/counted.log", logger: TestEnv.logger, flushIntervalMs: 600_000))
        let operations = try (0..<3).map { try update(UInt64(20 + $0)) }
        let batch = ContextUpdate(
            seq: 9, id: try ContextID("c20"), version: 1, op: .batch, body: [], hubTimeUs: 1_000, replay: false, operations: operations)
        counted.record([batch, try update(10)], committedAtUs: 5_000)
        counted.close()
        let lines = try String(contentsOfFile: "\(dir)/counted.log", encoding: .utf8).split(separator: "\n")
        #expect(lines.first == "9 1000 5000 us 3" && lines.count == 2 && lines[1].hasSuffix(" 5000 us"), "\(lines)")

        let timed = try #require(LatencyLog(path: "\(dir)/timed.log", logger: TestEnv.logger, flushIntervalMs: 20))
        timed.record([try update(7)], committedAtUs: WallClock.nowUs())
        #expect(await eventually(10, poll: 0.01) { Self.seqs(in: "\(dir)/timed.log") == [7] })
        timed.close()
    }

    /// The distinct commit times (`replicaCommitUs`) of the latency log's lines for `seqs`.
    static func commitTimes(in path: String, seqs: Set<UInt64>) -> Set<Substring> {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return Set(
            text.split(separator: "\n").compactMap { line in
                let parts = line.split(separator: " ")
                guard parts.count >= 3, let seq = UInt64(parts[0]), seqs.contains(seq) else { return nil }
                return parts[2]
            })
    }

    /// The seqs of a latency log's lines.
    static func seqs(in path: String) -> Set<UInt64> {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return Set(text.split(separator: "\n").compactMap { $0.split(separator: " ").first.flatMap { UInt64($0) } })
    }
}
