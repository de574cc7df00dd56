import PaneCore
import Synchronization

/// Whether the publisher reaches Redis: set by its rounds, read by the hub's `/readyz`. A round
/// that fails marks the time the failures began; one that succeeds clears it.
public final class PublishHealth: Sendable {
    private let failingSince = Mutex<Int64?>(nil)

    public init() {}

    func succeeded() { failingSince.withLock { $0 = nil } }

    func failed(nowMs: Int64 = WallClock.nowMs()) { failingSince.withLock { $0 = $0 ?? nowMs } }

    /// How long publishing has been failing, ms; nil when the last round succeeded.
    public func failingForMs(nowMs: Int64 = WallClock.nowMs()) -> Int64? {
        failingSince.withLock { $0 }.map { nowMs - $0 }
    }
}
