/// How long a replica has been behind the hub: the age of the oldest hub seq, seen by the
/// replica's worker (from `pane:{R}:hub`), that its watermark has not reached yet. Pure: the
/// worker observes once per maintenance tick (about once a second) and reports the lag to
/// readiness (``isLagging(lagMs:observedAtMs:nowMs:maxLagMs:)``).
public struct ReplicaLag: Sendable, Equatable {
    /// Hub seqs the watermark has not reached, each with the time it was first seen, oldest first.
    private var behind: [Mark] = []
    /// At most this many marks are kept; past it the newest is overwritten, so the oldest (which
    /// decides the lag) stays exact.
    public static let maxMarks = 256

    struct Mark: Sendable, Equatable {
        var seq: UInt64
        var sinceMs: Int64
    }

    public init() {}

    /// Records that the hub's highest seq was `hubSeq` and the replica's watermark `watermark`
    /// at `nowMs`; returns the lag in ms (0 when the replica has every seq seen so far).
    public mutating func observe(hubSeq: UInt64?, watermark: UInt64, nowMs: Int64) -> Int64 {
        behind.removeAll { $0.seq <= watermark }
        if let hubSeq, hubSeq > watermark, hubSeq > (behind.last?.seq ?? 0) {
            if behind.count >= Self.maxMarks {
                behind[behind.count - 1] = Mark(seq: hubSeq, sinceMs: behind[behind.count - 1].sinceMs)
            } else {
                behind.append(Mark(seq: hubSeq, sinceMs: nowMs))
            }
        }
        return behind.first.map { max(0, nowMs - $0.sinceMs) } ?? 0
    }

    /// Why a replica is not ready for reads, or `nil`: it lags the hub by more than `maxLagMs`,
    /// or its worker has not observed the hub for more than `maxLagMs` (it stalls: Redis is out
    /// of reach, or the loop is stuck). `observedAtMs` `nil`: nothing observed yet, not judged.
    public static func isLagging(lagMs: Int64, observedAtMs: Int64?, nowMs: Int64, maxLagMs: Int64) -> String? {
        guard let observedAtMs else { return nil }
        if lagMs > maxLagMs { return "the replica's watermark lags the hub's seq by \(lagMs) ms (limit \(maxLagMs) ms)" }
        let age = nowMs - observedAtMs
        if age > maxLagMs + 2_000 { return "the worker has not observed the hub for \(age) ms (limit \(maxLagMs) ms)" }
        return nil
    }
}
