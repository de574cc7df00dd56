import NIOCore
import PaneCore
import PaneStore
import Synchronization

/// The watchers of one event loop: woken together by the replica's change signal (one loop job
/// per signal, not one per watcher), and the reads of their change pages, batched off the loop.
///
/// A watcher that wants its next page joins ``pending``; one batch at a time goes to the watch
/// queue (``SpokeWatch/queue``), at most ``batchLimit`` watchers, and comes back as one loop job.
/// Everything but ``signalled()`` runs on ``loop``.
final class WatchLoop: @unchecked Sendable {
    let loop: any EventLoop
    let watch: SpokeWatch
    /// Watchers per batch of reads: a wake-up of thousands reaches the loop in slices, and each
    /// slice's pages are written before the next is read.
    static let batchLimit = 128

    private var watchers: [ObjectIdentifier: Watcher] = [:]
    private var pending: [Watcher] = []
    private var reading = false
    /// A wake-up job is scheduled on the loop and has not started.
    private let wakeScheduled = Atomic<Bool>(false)

    init(loop: any EventLoop, watch: SpokeWatch) {
        self.loop = loop
        self.watch = watch
    }

    func add(_ watcher: Watcher) {
        watchers[ObjectIdentifier(watcher)] = watcher
    }

    func remove(_ watcher: Watcher) {
        watchers[ObjectIdentifier(watcher)] = nil
    }

    /// The replica changed (any thread): wakes the loop's watchers in one job.
    func signalled() {
        guard wakeScheduled.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        loop.execute {
            self.wakeScheduled.store(false, ordering: .releasing)
            for watcher in self.watchers.values { watcher.changed() }
        }
    }

    /// `watcher` wants its next page: it is read with the next batch.
    func read(_ watcher: Watcher) {
        pending.append(watcher)
        if !reading { dispatch() }
    }

    private func dispatch() {
        let count = min(pending.count, Self.batchLimit)
        guard count > 0 else { return }
        let batch = pending.prefix(count).compactMap { watcher in watcher.takeFeed().map { WatchRead(watcher: watcher, feed: $0) } }
        pending.removeFirst(count)
        reading = true
        let watch = self.watch
        watch.queue.async {
            var done = batch
            // Captured before the reads: a watcher that saw the spoke stopping has read every
            // change committed before it.
            let closing = watch.registry.isClosing
            for i in done.indices { done[i].run(reads: watch.reads, closing: closing) }
            let finished = done
            self.loop.execute {
                for read in finished { read.watcher.readDone(read) }
                self.reading = false
                self.dispatch()
            }
        }
    }
}

/// One watcher's read of its next page, off the loop: the feed goes with it and comes back.
struct WatchRead: @unchecked Sendable {
    let watcher: Watcher
    var feed: ChangeFeed
    /// The page's events as Server-Sent Events (empty: caught up).
    var buffer = ByteBuffer()
    var error: (any Error)?
    var closing = false

    init(watcher: Watcher, feed: ChangeFeed) {
        self.watcher = watcher
        self.feed = feed
    }

    mutating func run(reads: SpokeReads, closing: Bool) {
        self.closing = closing
        do {
            let events = try feed.next()
            guard !events.isEmpty else { return }
            let index = reads.token(watermark: feed.watermark)
            for event in events { buffer.writeBytes(event.serverSentEvent(index: index)) }
        } catch {
            self.error = error
        }
    }
}
