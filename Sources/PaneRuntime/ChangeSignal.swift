import Synchronization

/// A generation counter that tasks can wait on: ``signal()`` moves it on and wakes every
/// waiter. A spoke's reads that wait for a position (`wait=`) sleep here until the replica's
/// file changes, instead of polling on a timer.
public final class ChangeSignal: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextID = 0
        var observers: [@Sendable () -> Void] = []
        /// Waiters that do not suspend a task (``addStandingWaiter()``).
        var standing = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// How many changes have been signalled so far.
    public var generation: UInt64 { state.withLock { $0.generation } }

    /// Tasks waiting right now, and standing waiters.
    public var waiting: Int { state.withLock { $0.waiters.count + $0.standing } }

    /// One more waiter that is woken through an observer (``observe(_:)``), not a task: a watch
    /// stream, from its start to its end. ``waiting`` counts it, so the replica's change watch
    /// stays on while it lasts.
    public func addStandingWaiter() {
        state.withLock { $0.standing += 1 }
    }

    /// A standing waiter is gone.
    public func removeStandingWaiter() {
        state.withLock { $0.standing -= 1 }
    }

    /// A change: the generation moves on and every waiter wakes.
    public func signal() {
        let (woken, observers) = state.withLock { state in
            state.generation &+= 1
            defer { state.waiters.removeAll(keepingCapacity: true) }
            return (Array(state.waiters.values), state.observers)
        }
        for continuation in woken { continuation.resume() }
        for observer in observers { observer() }
    }

    /// Calls `observer` at every ``signal()`` from now on, on the signalling thread, after the
    /// generation moved on: it must be quick (hand the work to another thread). The spoke's watch
    /// streams wake through one observer per event loop.
    public func observe(_ observer: @escaping @Sendable () -> Void) {
        state.withLock { $0.observers.append(observer) }
    }

    /// Returns once the generation has moved past `seen`, or at `deadline`, or when the task is
    /// cancelled, whichever comes first.
    public func wait(past seen: UInt64, until deadline: ContinuousClock.Instant) async {
        guard generation == seen, ContinuousClock.now < deadline else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForChange(past: seen) }
            group.addTask { try? await Task.sleep(until: deadline, clock: .continuous) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForChange(past seen: UInt64) async {
        let id = state.withLock { state in
            defer { state.nextID &+= 1 }
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    if state.generation != seen || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation = state.withLock { $0.waiters.removeValue(forKey: id) }
            continuation?.resume()
        }
    }
}
