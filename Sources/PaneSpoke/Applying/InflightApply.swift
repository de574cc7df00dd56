import Dispatch
import PaneCore
import PaneRedis
import PaneRuntime
import PaneStore

/// A batch being applied on the applier queue; ``wait()`` returns its outcome.
final class InflightApply: @unchecked Sendable {
    let good: [(entry: StreamEntry, update: ContextUpdate)]
    let ackIDs: [String]
    let deliveries: [String: Int]
    private let done = DispatchSemaphore(value: 0)
    // Written on the applier queue before `done` is signalled, read after the wait.
    private var result: Result<ApplyResult, any Error> = .failure(CancellationError())

    init(
        good: [(entry: StreamEntry, update: ContextUpdate)], ackIDs: [String], deliveries: [String: Int], queue: DispatchQueue,
        apply: @escaping @Sendable () throws -> ApplyResult
    ) {
        self.good = good
        self.ackIDs = ackIDs
        self.deliveries = deliveries
        queue.async { [self] in
            result = Result { try apply() }
            done.signal()
        }
    }

    func wait() -> Result<ApplyResult, any Error> {
        done.wait()
        return result
    }
}
