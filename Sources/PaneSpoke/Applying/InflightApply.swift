import Dispatch
import PaneCore
import PaneRedis
import PaneRuntime
import PaneStore

/// A batch being applied on the applier queue; ``wait()`` returns its outcome.
final class InflightApply: Sendable {
    let good: [(entry: StreamEntry, update: ContextUpdate)]
    let ackIDs: [String]
    let deliveries: [String: Int]
    private let outcome: BackgroundResult<ApplyResult>

    init(
        good: [(entry: StreamEntry, update: ContextUpdate)], ackIDs: [String], deliveries: [String: Int], queue: DispatchQueue,
        apply: @escaping @Sendable () throws -> ApplyResult
    ) {
        self.good = good
        self.ackIDs = ackIDs
        self.deliveries = deliveries
        outcome = BackgroundResult(on: queue, apply)
    }

    func wait() -> Result<ApplyResult, any Error> { outcome.wait() }
}
