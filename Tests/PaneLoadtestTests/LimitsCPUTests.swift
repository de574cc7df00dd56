import Foundation
import Testing

@testable import PaneLoadtest

/// `limits` reports CPU-seconds beside its rates: the raw SQLite baseline's wall-clock rate
/// moves with the disk's sync latency, its rows per CPU-second do not.
@Suite struct LimitsCPUTests {
    /// The raw SQLite baseline counts its thread's CPU, which can never exceed the wall time.
    @Test func theRawBaselineReportsItsCPU() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("limits-cpu-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try RawSQLiteBaseline.upsert(path: "\(dir)/raw.sqlite", rows: 3_000, bodyBytes: 256, batch: 500)
        #expect(run.rows == 3_000)
        #expect(run.cpuSeconds > 0)
        // `getrusage` counts the thread's CPU in scheduler ticks on such kernels: it may read two
        // ticks (up to 20 ms) over the wall time of a run this short, never more.
        let wall = Double(run.rows) / run.rowsPerSecond
        #expect(run.cpuSeconds <= wall + 0.02, "more CPU than wall time: \(run.cpuSeconds) s against \(wall) s")
        #expect(run.rowsPerCPUSecond >= Double(run.rows) / (wall + 0.02))
    }

    /// A thread's CPU grows while it computes, and the process's is at least the thread's.
    @Test func threadAndProcessCPUGrowWithWork() {
        let threadStart = ProcStat.threadCPUSeconds()
        let processStart = ProcStat.ownCPUSeconds()
        var x: UInt64 = 1
        var rounds = 0
        while ProcStat.threadCPUSeconds() - threadStart < 0.02 && rounds < 10_000 {
            for i in 0..<100_000 { x = x &* 6_364_136_223_846_793_005 &+ UInt64(i) }
            rounds += 1
        }
        let thread = ProcStat.threadCPUSeconds() - threadStart
        #expect(x != 0)
        #expect(thread >= 0.02, "the thread's CPU did not grow: \(thread) s after \(rounds) rounds")
        #expect(ProcStat.ownCPUSeconds() - processStart >= thread * 0.95)
    }

    @Test func redisCPUIsReadFromINFO() {
        #expect(Limits.redisCPUSeconds(info: "# CPU\r\nused_cpu_sys:1.500000\r\nused_cpu_user:2.250000\r\nused_cpu_sys_children:9\r\n") == 3.75)
        #expect(Limits.redisCPUSeconds(info: "# CPU\r\nused_cpu_user:2.25\r\n") == nil)
        #expect(Limits.redisCPUSeconds(info: "") == nil)
    }

    /// The table puts each side's rows per CPU-second and the apply's share by that measure
    /// beside the wall-clock share; a report without CPU figures keeps its old table.
    @Test func theTableShowsTheSharePerCPUSecond() {
        var report = Limits.Report(
            date: "d", writes: 100_000, bodyBytes: 256, regions: 3, redisXaddOneClient: 1, redisXaddFiftyClients: 1,
            rawSQLiteUpsert: 300_000, grdbApply: 200_000, hubWrites: 1, hubGroupWrites: 1, publish: 1, publishBatch: 500,
            apply: 150_000, rawSQLiteCPUSeconds: 0.25, applyCPUSeconds: 0.5, applyRedisCPUSeconds: 0.2)
        let table = report.table
        #expect(table.contains("| pane apply, one worker end to end | 150000 |  50.0% of raw SQLite |"), "\(table)")
        #expect(table.contains("| raw SQLite upsert, rows per CPU-second (0.25 CPU-s) | 400000 | baseline |"), "\(table)")
        #expect(
            table.contains("| pane apply, entries per CPU-second of this process (0.50 CPU-s; Redis 0.20 CPU-s more) | 200000 |  50.0% of raw SQLite per CPU-second |"),
            "\(table)")
        report.rawSQLiteCPUSeconds = nil
        #expect(!report.table.contains("per CPU-second"))
    }
}
