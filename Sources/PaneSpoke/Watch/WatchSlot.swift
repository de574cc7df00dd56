/// One watcher's place in the ``WatchRegistry``, given back when the last reference goes: after
/// the answer's body ends, or when the answer is dropped before its body ran.
final class WatchSlot: Sendable {
    let registry: WatchRegistry

    /// Wraps a slot already taken with ``WatchRegistry/enter()``.
    init(registry: WatchRegistry) {
        self.registry = registry
    }

    deinit { registry.leave() }
}
