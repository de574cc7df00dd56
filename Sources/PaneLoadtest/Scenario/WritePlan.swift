/// The open-loop schedule of the writes: when each one is due and what it is. Pure.
///
/// Write `n` is due at `n / rate` seconds after the start, whatever happened to earlier
/// writes, so a slow hub cannot slow the load down and hide its own latency. Writer `k` of `w`
/// sends writes `k, k + w, k + 2w, …`.
///
/// With a ``batchSize`` above 1 the unit is a batch (`POST /v1/batch` of that many writes):
/// batch `n` is due when its first write would be, `n × batchSize / rate` seconds after the start.
public struct WritePlan: Sendable, Equatable {
    public let rate: WriteRate
    public let totalWrites: Int?
    public let durationSeconds: Double?
    public let writers: Int
    /// Writes per request: 1 for single PUT/DELETEs, more for batches.
    public let batchSize: Int

    public init(scenario: Scenario) {
        rate = scenario.writeRate
        totalWrites = scenario.totalWrites
        durationSeconds = scenario.durationSeconds
        writers = scenario.writers
        batchSize = scenario.batchSize
    }

    /// Seconds after the start when request `n` (a write, or a batch) is due; 0 for "max".
    public func dueSeconds(_ n: Int) -> Double {
        switch rate {
        case .perSecond(let perSecond): return Double(n * batchSize) / perSecond
        case .max: return 0
        }
    }

    /// Whether request `n` belongs to the run, given the seconds elapsed so far.
    public func includes(_ n: Int, elapsed: Double) -> Bool {
        if let totalWrites { return n * batchSize < totalWrites }
        guard let durationSeconds else { return false }
        switch rate {
        case .perSecond: return dueSeconds(n) < durationSeconds
        case .max: return elapsed < durationSeconds
        }
    }
}
