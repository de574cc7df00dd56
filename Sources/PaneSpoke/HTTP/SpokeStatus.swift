import PaneCore
import PaneStore
import Synchronization

/// What one worker process knows about its own freshness; read by the HTTP handlers.
public final class SpokeStatus: Sendable {
    struct State {
        var ready = false
        var lastContactMs: Int64?
        var maxSeq: UInt64 = 0
        var applied = 0
        var bootstrapping = false
        /// How long the watermark has been behind the hub's seq, as of `lagObservedAtMs`.
        var lagMs: Int64 = 0
        var lagObservedAtMs: Int64?
        var hubSeq: UInt64?
        var hubID: String?
        var watermark: UInt64 = 0
    }

    private let state = Mutex(State())
    /// Readiness fails (`lagging`) when the replica lags the hub by more than this
    /// (`spoke.maxLagMs`), or the worker has not observed the hub for that long.
    public let maxLagMs: Int64

    public init(maxLagMs: Int64 = SpokeConfiguration.defaultMaxLagMs) { self.maxLagMs = maxLagMs }

    /// A read from the stream succeeded.
    func contact() {
        let now = WallClock.nowMs()
        state.withLock { $0.lastContactMs = now }
    }

    /// The worker read less than a full batch: it has caught up with the stream.
    func caughtUp() { state.withLock { $0.ready = true } }

    /// The replica is empty and waits for, or applies, its first snapshot.
    func setBootstrapping(_ value: Bool) { state.withLock { $0.bootstrapping = value } }

    /// The gap check measured the replica's lag behind the hub's seq (``ReplicaLag``).
    func recordLag(_ lagMs: Int64, hubSeq: UInt64?, atMs: Int64) {
        state.withLock {
            $0.lagMs = lagMs
            $0.lagObservedAtMs = atMs
            $0.hubSeq = hubSeq
        }
    }

    func recordApply(_ result: ApplyResult) {
        state.withLock {
            $0.maxSeq = max($0.maxSeq, result.maxSeq)
            $0.applied += result.applied
        }
    }

    /// Whether the worker has caught up with the stream at least once, and the replica is not
    /// bootstrapping from a snapshot.
    public var isReady: Bool { state.withLock { $0.ready && !$0.bootstrapping } }
    public var isBootstrapping: Bool { state.withLock { $0.bootstrapping } }
    /// Why the replica is too far behind the hub to serve reads as ready, or `nil`
    /// (``ReplicaLag/isLagging(lagMs:observedAtMs:nowMs:maxLagMs:)``).
    public var lagging: String? {
        let (lag, at) = state.withLock { ($0.lagMs, $0.lagObservedAtMs) }
        return ReplicaLag.isLagging(lagMs: lag, observedAtMs: at, nowMs: WallClock.nowMs(), maxLagMs: maxLagMs)
    }
    /// How long the replica's watermark has been behind the hub's seq, as last measured.
    public var lagMs: Int64 { state.withLock { $0.lagMs } }

    /// The heartbeat's view: the replica's watermark and the hub's identity from
    /// `pane:{R}:hub` (kept when Redis has none, as after a flush, until the hub writes it again).
    func setPosition(watermark: UInt64, hubID: String?) {
        state.withLock {
            $0.watermark = watermark
            if let hubID, !hubID.isEmpty { $0.hubID = hubID }
        }
    }

    /// The identity of the hub history this replica follows; nil until the first heartbeat
    /// found it.
    public var hubID: String? { state.withLock { $0.hubID } }
    /// The highest seq this worker applied.
    public var maxSeq: UInt64 { state.withLock { $0.maxSeq } }
    /// What a read's freshness and position headers say, read under one lock:
    /// ``maxSeq``, ``contactAgeMs`` and ``hubID``.
    var freshness: (maxSeq: UInt64, contactAgeMs: Int64?, hubID: String?) {
        let (maxSeq, last, hubID) = state.withLock { ($0.maxSeq, $0.lastContactMs, $0.hubID) }
        return (maxSeq, last.map { WallClock.nowMs() - $0 }, hubID)
    }
    /// Milliseconds since the last successful read from Redis; `nil` before the first.
    public var contactAgeMs: Int64? {
        let last = state.withLock { $0.lastContactMs }
        return last.map { WallClock.nowMs() - $0 }
    }
}
