import Hummingbird
import Logging
import Metrics
import NIOCore
import PaneCore
import PaneStore
import Synchronization

/// One watcher's answer body: the change feed written as Server-Sent Events until the client
/// goes, the spoke stops, or the client stops reading (cut off).
///
/// Two tasks: the feed loop, which owns the writer, and a watchdog that sleeps until a pending
/// write's deadline. An idle watcher has no timer but the progress one: the watchdog waits for
/// writes, and the loop for the replica's changes.
struct WatchStream: Sendable {
    let feed: ChangeFeed
    let reads: SpokeReads
    let registry: WatchRegistry
    let progressMs: Int
    let writeTimeoutMs: Int
    let labels: [(String, String)]
    let logger: Logger

    /// How the stream ended.
    enum Outcome: Sendable {
        /// The spoke is stopping.
        case closed
        /// The client did not read for ``writeTimeoutMs``.
        case cutOff(position: WatchPosition?)
        /// A write failed: the client went away.
        case gone(String)
        /// The replica file could not be read.
        case failed(String)
        /// Cancelled with the server.
        case cancelled
    }

    /// Writes the stream; finishes the body when the spoke stops, throws (the connection is
    /// closed) when the client is cut off or gone.
    func run(_ writer: inout any ResponseBodyWriter) async throws {
        let box = WatchWriter(writer)
        let (starts, startsContinuation) = AsyncStream.makeStream(of: (UInt64, ContinuousClock.Instant).self, bufferingPolicy: .bufferingNewest(1))
        let outcome: Outcome = await withTaskGroup(of: Outcome?.self) { group in
            group.addTask {
                defer { startsContinuation.finish() }
                return await self.loop(box, starts: startsContinuation)
            }
            group.addTask { await self.watchdog(starts, pending: box) }
            var outcome: Outcome = .cancelled
            while let next = await group.next() {
                if let next {
                    outcome = next
                    break
                }
            }
            group.cancelAll()
            return outcome
        }
        switch outcome {
        case .closed:
            try await box.writer.finish(nil)
        case .cutOff(let position):
            Counter(label: "pane_spoke_watch_cutoffs_total", dimensions: labels).increment()
            logger.warning(
                "watch cut off: the client did not read for \(writeTimeoutMs) ms (spoke.watchWriteTimeoutMs); it may reconnect with Last-Event-ID",
                metadata: ["prefix": "\(feed.prefix)", "position": "\(position?.encoded ?? "-")"])
            throw WatchEnded.cutOff
        case .gone(let reason):
            logger.debug("watcher gone", metadata: ["prefix": "\(feed.prefix)", "reason": "\(reason)"])
            throw WatchEnded.gone
        case .failed(let reason):
            logger.error("watch ended: cannot read the replica's change log", metadata: ["prefix": "\(feed.prefix)", "error": "\(reason)"])
            throw WatchEnded.gone
        case .cancelled:
            throw CancellationError()
        }
    }

    private func loop(
        _ box: WatchWriter, starts: AsyncStream<(UInt64, ContinuousClock.Instant)>.Continuation
    ) async -> Outcome {
        var feed = self.feed
        let progress = Duration.milliseconds(progressMs)
        var lastSent = ContinuousClock.now
        var writes: UInt64 = 0
        func write(_ events: [WatchEvent]) async throws {
            var buffer = ByteBuffer()
            let index = reads.token(watermark: feed.watermark)
            for event in events { buffer.writeBytes(event.serverSentEvent(index: index)) }
            writes += 1
            let started = ContinuousClock.now
            box.pending.withLock { $0 = writes }
            starts.yield((writes, started))
            try await box.writer.write(buffer)
            box.pending.withLock { $0 = nil }
            lastSent = .now
        }
        do {
            while true {
                let generation = registry.changes.generation
                let closing = registry.isClosing
                let events: [WatchEvent]
                do { events = try feed.next() } catch { return .failed("\(error)") }
                if !events.isEmpty { try await write(events) }
                if closing { return .closed }
                if !events.isEmpty { continue }
                if ContinuousClock.now - lastSent >= progress, let position = feed.position {
                    try await write([.progress(position: position)])
                }
                await registry.changes.wait(past: generation, until: lastSent + progress)
                if Task.isCancelled { return .cancelled }
            }
        } catch is CancellationError {
            if box.pending.withLock({ $0 }) != nil { return .cutOff(position: feed.position) }
            return .cancelled
        } catch {
            return .gone("\(error)")
        }
    }

    /// Returns `.cutOff` when a write is still pending ``writeTimeoutMs`` after it started; nil
    /// when the loop ends first.
    private func watchdog(_ starts: AsyncStream<(UInt64, ContinuousClock.Instant)>, pending box: WatchWriter) async -> Outcome? {
        for await (write, started) in starts {
            let deadline = started + .milliseconds(writeTimeoutMs)
            do { try await Task.sleep(until: deadline, clock: .continuous) } catch { return nil }
            if box.pending.withLock({ $0 }) == write { return .cutOff(position: feed.position) }
        }
        return nil
    }
}
