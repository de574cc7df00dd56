/// The one-word health of a replica in `pane admin status` (the STATE column), from its
/// heartbeat (every worker writes one each second) and the region's stream. The rules, in order
/// (docs/operations.md, "Reading `pane admin status`"):
///
/// 1. `down`: no heartbeat, or none for ``Thresholds/downAfterMs`` (30 s): no worker of the
///    replica is running, or none reaches Redis.
/// 2. `resyncing`: the heartbeat reports a resync requested or being applied.
/// 3. `stale`: the last heartbeat is older than ``Thresholds/staleAfterMs`` (5 s): the workers
///    are slow or blocked; what the other columns say may be old.
/// 4. `lagging`: the oldest entry the replica has not applied has waited longer than
///    ``Thresholds/lagAfterMs`` (5 s).
/// 5. `ok`.
public enum ReplicaState: String, Sendable, Codable, CaseIterable {
    case ok, lagging, stale, down, resyncing

    public struct Thresholds: Sendable, Equatable {
        public var staleAfterMs: Int64 = 5_000
        public var downAfterMs: Int64 = 30_000
        public var lagAfterMs: Int64 = 5_000
        public init() {}
    }

    /// - Parameters:
    ///   - heartbeatAgeMs: time since the replica's last heartbeat; nil without one.
    ///   - resyncing: whether the heartbeat reports a resync in flight.
    ///   - lagMs: how long the oldest entry above the replica's watermark has waited (0 when the
    ///     replica has applied everything).
    public static func classify(heartbeatAgeMs: Int64?, resyncing: Bool, lagMs: Int64, thresholds: Thresholds = Thresholds()) -> ReplicaState {
        guard let age = heartbeatAgeMs, age <= thresholds.downAfterMs else { return .down }
        if resyncing { return .resyncing }
        if age > thresholds.staleAfterMs { return .stale }
        if lagMs > thresholds.lagAfterMs { return .lagging }
        return .ok
    }
}

/// Sizes as people read them: `512 B`, `1.5 KiB`, `12.0 MiB`, `3.2 GiB`.
public enum HumanSize {
    public static func bytes(_ count: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return "\(count) B" }
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) \(units[unit])"
    }

    /// Milliseconds as `850 ms`, `4.2 s`, `3 min 5 s`, `2 h 10 min`.
    public static func duration(ms: Int64) -> String {
        if ms < 1_000 { return "\(ms) ms" }
        if ms < 60_000 {
            let tenths = (ms + 50) / 100
            return "\(tenths / 10).\(tenths % 10) s"
        }
        let seconds = ms / 1_000
        if seconds < 3_600 { return "\(seconds / 60) min \(seconds % 60) s" }
        return "\(seconds / 3_600) h \(seconds % 3_600 / 60) min"
    }
}
