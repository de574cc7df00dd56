import Dispatch

/// A task executor on a serial dispatch queue of its own, outside Swift's cooperative pool. The
/// pool has as many threads as the machine has cores (two here), and a suite that runs many
/// tests at once can keep them busy for seconds; the in-process hub's service group runs here
/// so that its loops start, and stop, without waiting for the pool.
public final class DedicatedExecutor: TaskExecutor, @unchecked Sendable {
    private let queue: DispatchQueue

    public init(label: String) {
        queue = DispatchQueue(label: label, qos: .userInitiated)
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}
