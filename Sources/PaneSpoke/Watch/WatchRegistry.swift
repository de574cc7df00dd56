import Metrics
import PaneCore
import PaneRuntime
import Synchronization

/// The watch connections of one spoke worker: how many are open (capped by
/// ``SpokeConfiguration/maxWatchers``; each is a standing waiter of the change signal), and
/// whether the spoke is stopping (every watcher then ends its stream).
public final class WatchRegistry: Sendable {
    private struct State {
        var open = 0
        var closing = false
    }

    private let state = Mutex(State())
    /// The most watchers served at once.
    public let limit: Int
    /// Woken when the spoke starts stopping, so waiting watchers end at once.
    let changes: ChangeSignal
    private let gauge: Gauge

    init(limit: Int, changes: ChangeSignal, labels: [(String, String)]) {
        self.limit = limit
        self.changes = changes
        self.gauge = Gauge(label: "pane_spoke_watchers", dimensions: labels)
        gauge.record(0)
        // Counters that alerts watch start at 0, so a rate is defined before the first event.
        Counter(label: "pane_spoke_watch_cutoffs_total", dimensions: labels).increment(by: 0)
        Counter(label: "pane_spoke_watch_refused_total", dimensions: labels).increment(by: 0)
    }

    /// Watchers open right now.
    public var open: Int { state.withLock { $0.open } }

    /// Whether the spoke is stopping.
    public var isClosing: Bool { state.withLock { $0.closing } }

    /// Takes a slot for a new watcher; `false` when ``limit`` are open or the spoke is stopping.
    func enter() -> Bool {
        let open: Int? = state.withLock { state in
            guard !state.closing, state.open < limit else { return nil }
            state.open += 1
            return state.open
        }
        guard let open else { return false }
        gauge.record(Double(open))
        // A watcher waits on the change signal for its whole life (keeps the file watch on).
        changes.addStandingWaiter()
        return true
    }

    /// Gives a watcher's slot back (``WatchSlot`` calls it once).
    func leave() {
        changes.removeStandingWaiter()
        let open = state.withLock { state in
            state.open -= 1
            return state.open
        }
        gauge.record(Double(open))
    }

    /// The spoke is stopping: refuse new watchers and wake the open ones so they end.
    public func close() {
        state.withLock { $0.closing = true }
        changes.signal()
    }
}
