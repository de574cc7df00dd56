import Synchronization

/// Work waiting for the hub's writer queue (single writes for the group commit, batches for the
/// batch commit), with whether a drain is already scheduled: the first item queued schedules
/// one, and that drain takes everything queued by the time it runs.
final class WriterQueue<Item: Sendable>: Sendable {
    private let state = Mutex<(items: [Item], scheduled: Bool)>(([], false))

    /// Queues `item`; true when no drain is scheduled yet, so the caller must schedule one.
    func append(_ item: Item) -> Bool {
        state.withLock { state in
            state.items.append(item)
            if state.scheduled { return false }
            state.scheduled = true
            return true
        }
    }

    /// Takes every queued item; the next ``append(_:)`` schedules a drain again.
    func take() -> [Item] {
        state.withLock { state in
            defer {
                state.items = []
                state.scheduled = false
            }
            return state.items
        }
    }

    /// Items waiting now.
    var count: Int { state.withLock { $0.items.count } }
}
