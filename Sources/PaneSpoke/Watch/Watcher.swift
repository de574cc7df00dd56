import Logging
import NIOCore
import PaneCore
import PaneHTTP
import PaneStore

/// One watch stream: its change feed, where it is, and its two timers, on its connection's event
/// loop (``PaneHTTP/LoopStream``). No task: the loop's ``WatchLoop`` wakes it on a change, its
/// pages are read off the loop, and it writes them while its channel takes them.
///
/// - idle: caught up; a change asks for the next page, the progress timer sends `progress`
///   after ``SpokeWatch/progress`` without an event;
/// - reading: its feed is at the watch queue; a change meanwhile asks for another page after it;
/// - blocked: a write left the channel full (the client does not read): the next page waits
///   for it to drain, and if it has not after ``SpokeWatch/writeTimeoutMs``, the client is cut off.
///
/// It ends when the client goes (the connection closes), when it is cut off, when the replica
/// cannot be read, or when the spoke stops (the body is finished properly).
final class Watcher: LoopStream, @unchecked Sendable {
    private enum State {
        case starting
        case idle
        case reading
        case blocked
        case ended
    }

    private let watch: SpokeWatch
    private var feed: ChangeFeed?
    private var slot: WatchSlot?
    private var state = State.starting
    private var sink: (any LoopStreamSink)?
    private var loop: WatchLoop?
    /// A change came while reading or blocked: read again after.
    private var changedSince = false
    private var lastSent = NIODeadline.now()
    private var progressTimer: Scheduled<Void>?
    private var cutoffTimer: Scheduled<Void>?
    /// The prefix and position, for the log lines (the feed is away while reading).
    private let prefix: String

    init(watch: SpokeWatch, feed: ChangeFeed, slot: WatchSlot) {
        self.watch = watch
        self.feed = feed
        self.slot = slot
        self.prefix = feed.prefix
    }

    // MARK: LoopStream

    func start(_ sink: any LoopStreamSink) {
        guard state == .starting else { return }
        self.sink = sink
        let loop = watch.loop(sink.eventLoop)
        self.loop = loop
        loop.add(self)
        lastSent = .now()
        scheduleProgress(at: lastSent + watch.progress)
        read()
    }

    func writable() {
        guard state == .blocked else { return }
        cutoffTimer?.cancel()
        cutoffTimer = nil
        read()
    }

    func ended() {
        guard state != .ended else { return }
        if state != .starting { watch.logger.debug("watcher gone", metadata: ["prefix": "\(prefix)"]) }
        end()
    }

    // MARK: the stream

    /// The replica changed (on the loop).
    func changed() {
        switch state {
        case .idle: read()
        case .reading, .blocked: changedSince = true
        case .starting, .ended: break
        }
    }

    private func read() {
        state = .reading
        changedSince = false
        loop?.read(self)
    }

    /// The feed, handed to a read off the loop (nil when it is already away).
    func takeFeed() -> ChangeFeed? {
        defer { feed = nil }
        return feed
    }

    /// A page came back from the watch queue.
    func readDone(_ read: WatchRead) {
        feed = read.feed
        guard state == .reading, let sink else { return }
        if let error = read.error {
            watch.logger.error("watch ended: cannot read the replica's change log", metadata: ["prefix": "\(prefix)", "error": "\(error)"])
            end()
            return sink.close()
        }
        let wrote = read.buffer.readableBytes > 0
        if wrote { send(read.buffer, sink) }
        if read.closing {
            // The spoke is stopping: the body ends properly, after what was read.
            end()
            return sink.finish()
        }
        guard state == .reading else { return }
        if wrote || changedSince {
            self.read()
        } else {
            state = .idle
            if NIODeadline.now() - lastSent >= watch.progress { sendProgress(sink) }
        }
    }

    /// Writes `buffer`; when the channel is left full, the stream waits for it (blocked).
    private func send(_ buffer: ByteBuffer, _ sink: any LoopStreamSink) {
        sink.write(buffer)
        lastSent = .now()
        if !sink.isWritable { block() }
    }

    private func block() {
        state = .blocked
        let timeout = TimeAmount.milliseconds(Int64(watch.writeTimeoutMs))
        cutoffTimer = sink?.eventLoop.scheduleTask(in: timeout) { [self] in
            cutoffTimer = nil
            guard state == .blocked, let sink else { return }
            watch.cutoffs.increment()
            watch.logger.warning(
                "watch cut off: the client did not read for \(watch.writeTimeoutMs) ms (spoke.watchWriteTimeoutMs); it may reconnect with Last-Event-ID",
                metadata: ["prefix": "\(prefix)", "position": "\(feed?.position?.encoded ?? "-")"])
            end()
            sink.close()
        }
    }

    /// When nothing was sent for ``SpokeWatch/progress``, an idle watcher reads its feed again,
    /// as a change would wake it, and sends `progress` if the page is empty (``readDone(_:)``);
    /// one reading sends it when its page comes back empty, one blocked sends nothing. The read
    /// also catches a change whose signal came before the commit was visible to readers (the
    /// inotify event is the WAL's write; the commit becomes visible when the WAL index is
    /// updated, which is not watched), as the task-per-watcher stream did.
    private func scheduleProgress(at deadline: NIODeadline) {
        progressTimer = sink?.eventLoop.scheduleTask(deadline: deadline) { [self] in
            progressTimer = nil
            guard state != .ended else { return }
            let due = lastSent + watch.progress
            if due > .now() { return scheduleProgress(at: due) }
            if state == .idle { read() }
            scheduleProgress(at: .now() + watch.progress)
        }
    }

    private func sendProgress(_ sink: any LoopStreamSink) {
        guard let feed, let position = feed.position else { return }
        let index = watch.reads.token(watermark: feed.watermark)
        send(ByteBuffer(bytes: WatchEvent.progress(position: position).serverSentEvent(index: index)), sink)
    }

    private func end() {
        state = .ended
        progressTimer?.cancel()
        cutoffTimer?.cancel()
        progressTimer = nil
        cutoffTimer = nil
        loop?.remove(self)
        loop = nil
        sink = nil
        slot = nil
    }
}
