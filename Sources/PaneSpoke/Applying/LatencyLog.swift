import Dispatch
import Foundation
import Logging
import PaneCore
import Synchronization

/// Appends one line per applied update, `seq hubCommitUs replicaCommitUs us`, for the load-test
/// runner: both times in microseconds since the epoch, and the trailing `us` names the unit
/// (lines before issue 13 were `seq hubCommitMs replicaCommitMs`, without it; the load-test
/// reader takes both). A `batch` entry of N writes (a batch, or a hub group commit published as
/// one entry) ends its line with ` N`, so the runner counts each write with the entry's latency.
///
/// Buffered: ``record(_:committedAtUs:)`` only appends to memory; the lines reach the file every
/// ``defaultFlushIntervalMs`` (a timer of its own, so an idle worker blocked on Redis still writes
/// them), when the buffer passes ``flushBytes``, and at ``close()``, which the worker calls when
/// it stops. At moderate rates a worker applies one small batch per wake-up, and a write per
/// batch was one syscall per wake-up for a file read once a second. A process killed with
/// SIGKILL loses at most the last ``defaultFlushIntervalMs`` of lines (the runner counts latencies
/// from the lines it finds).
///
/// `@unchecked Sendable`: the timer's handler runs on a dispatch queue; every mutable part is
/// behind the mutex, and the timer is set once in `init`.
final class LatencyLog: @unchecked Sendable {
    /// How often buffered lines are written.
    static let defaultFlushIntervalMs = 100
    /// A buffer this large is written at once, whatever the timer.
    static let flushBytes = 64 * 1024

    private struct State {
        var handle: FileHandle?
        var buffer: [UInt8] = []
    }

    private let state: Mutex<State>
    private let timer: any DispatchSourceTimer

    init?(path: String, logger: Logger, flushIntervalMs: Int = LatencyLog.defaultFlushIntervalMs) {
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            logger.error("cannot open the latency log; latencies are not recorded", metadata: ["path": "\(path)"])
            return nil
        }
        handle.seekToEndOfFile()
        var initial = State(handle: handle)
        initial.buffer.reserveCapacity(Self.flushBytes)
        state = Mutex(initial)
        timer = DispatchSource.makeTimerSource(queue: .global(qos: .utility))
        timer.schedule(
            deadline: .now() + .milliseconds(flushIntervalMs), repeating: .milliseconds(flushIntervalMs), leeway: .milliseconds(flushIntervalMs / 2))
        timer.setEventHandler { [weak self] in self?.flush() }
        timer.resume()
    }

    deinit { close() }

    func record(_ updates: [ContextUpdate], committedAtUs: Int64) {
        guard !updates.isEmpty else { return }
        // The digits go straight into bytes (no `String` per line); the lock is taken once.
        var lines: [UInt8] = []
        lines.reserveCapacity(updates.count * 48)
        let commit = DecimalDigits.withDigits(of: committedAtUs, suffix: " us\n") { Array($0) }
        for update in updates {
            DecimalDigits.withDigits(of: Int64(truncatingIfNeeded: update.seq), suffix: " ") { lines.append(contentsOf: $0) }
            DecimalDigits.withDigits(of: update.hubTimeUs, suffix: " ") { lines.append(contentsOf: $0) }
            let writes = update.op == .batch ? update.operations.count : 1
            if writes > 1 {
                lines.append(contentsOf: commit.dropLast())
                lines.append(UInt8(ascii: " "))
                DecimalDigits.withDigits(of: Int64(writes), suffix: "\n") { lines.append(contentsOf: $0) }
            } else {
                lines.append(contentsOf: commit)
            }
        }
        let full = state.withLock { state in
            state.buffer.append(contentsOf: lines)
            return state.buffer.count >= Self.flushBytes
        }
        if full { flush() }
    }

    /// Writes the buffered lines.
    func flush() {
        state.withLock { state in
            guard !state.buffer.isEmpty, let handle = state.handle else { return }
            handle.write(Data(state.buffer))
            state.buffer.removeAll(keepingCapacity: true)
        }
    }

    /// Writes what is buffered, stops the timer and closes the file; later lines are dropped.
    /// Called when the worker stops (and by `deinit`); a second call does nothing.
    func close() {
        timer.cancel()
        flush()
        state.withLock { state in
            try? state.handle?.close()
            state.handle = nil
        }
    }
}
