import Foundation
import PaneRuntime
@testable import PaneStore
import PaneTestKit
import Testing

/// The replica's change watch signals each WAL write, then again shortly after the last one:
/// a commit becomes visible only when the writer updates the WAL index, which raises no event.
@Suite struct ReplicaChangesTests {
    @Test func aWriteToTheWALIsSignalledThenSignalledAgainAfterIt() async throws {
        let dir = try TestEnv.directory("replica-changes")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/r.sqlite"
        _ = FileManager.default.createFile(atPath: path + "-wal", contents: nil)
        let signal = ChangeSignal()
        signal.addStandingWaiter()
        let stop = StopFlag()
        let changes = ReplicaChanges(path: path, signal: signal)
        let watching = Task { try await BlockingThread.value(name: "test-changes") { try changes.runBlocking(stop: stop) } }
        defer { stop.stop() }
        // Adding the watch signals once.
        #expect(await eventually(10, poll: 0.01) { signal.generation == 1 })
        // Another file of the folder is no change of the replica's.
        _ = FileManager.default.createFile(atPath: "\(dir)/other.log", contents: Data("x".utf8))
        try await Task.sleep(for: .milliseconds(200))
        #expect(signal.generation == 1)
        let wal = try #require(FileHandle(forWritingAtPath: path + "-wal"))
        try wal.write(contentsOf: Data(repeating: 1, count: 4096))
        try wal.close()
        // The write, then one signal for each trailing delay, the first within a few ms.
        #expect(!ReplicaChanges.trailingDelays.isEmpty && ReplicaChanges.trailingDelays[0] <= .milliseconds(10))
        let expected = UInt64(2 + ReplicaChanges.trailingDelays.count)
        #expect(await eventually(10, poll: 0.01) { signal.generation == expected }, "generation \(signal.generation)")
        try await Task.sleep(for: .milliseconds(300))
        #expect(signal.generation == expected, "nothing more without another write")
        stop.stop()
        try await watching.value
    }

    /// The schedule itself: each event starts the delays again; each delay gives one signal.
    @Test func trailingSignalsFollowTheLastEvent() {
        let start = ContinuousClock.now
        var trailing = TrailingSignals(delays: [.milliseconds(3), .milliseconds(50)])
        func fires(_ now: ContinuousClock.Instant) -> Bool { trailing.fire(at: now) }
        #expect(trailing.due(at: start) == nil)
        #expect(!fires(start))
        trailing.start(at: start)
        #expect(trailing.due(at: start) == 3)
        #expect(!fires(start + .milliseconds(2)))
        #expect(fires(start + .milliseconds(3)))
        #expect(!fires(start + .milliseconds(4)), "one signal per delay")
        #expect(trailing.due(at: start + .milliseconds(4)) == 46)
        // A new event before the second delay starts the list again from it: its first delay
        // counts again, and the second counts from the new event.
        let later = start + .milliseconds(10)
        trailing.start(at: later)
        #expect(!fires(later + .milliseconds(2)))
        #expect(fires(later + .milliseconds(3)))
        #expect(!fires(start + .milliseconds(50)), "50 ms after the first event is 40 ms after the new one")
        #expect(fires(later + .milliseconds(50)))
        #expect(trailing.due(at: later + .seconds(1)) == nil)
        // A due time rounds up: a poll that wakes early would spin.
        trailing.start(at: start)
        #expect(trailing.due(at: start + .microseconds(2_500)) == 1)
    }
}
