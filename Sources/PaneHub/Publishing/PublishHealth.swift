import PaneCore
import Synchronization

/// Whether the hub reaches its Redis servers, for its `/readyz`. Two loops report: the
/// publisher (its rounds) and retention (its rounds run every `hub.retentionIntervalMs` even when
/// nothing is written, so an idle hub notices a Redis that went away). A failing round marks
/// when its loop's failures began, a successful one clears that loop's mark.
public final class PublishHealth: Sendable {
    /// Who reports.
    enum Loop: Sendable { case publisher, retention }

    private let failingSince = Mutex<[Loop: Int64]>([:])

    public init() {}

    func succeeded(_ loop: Loop) { _ = failingSince.withLock { $0.removeValue(forKey: loop) } }

    func failed(_ loop: Loop, nowMs: Int64 = WallClock.nowMs()) { failingSince.withLock { $0[loop] = $0[loop] ?? nowMs } }

    /// How long the longest-failing loop has been failing, ms; nil when every loop's last round
    /// succeeded.
    public func failingForMs(nowMs: Int64 = WallClock.nowMs()) -> Int64? {
        failingSince.withLock { $0.values.min() }.map { nowMs - $0 }
    }
}
