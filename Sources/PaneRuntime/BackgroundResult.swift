import Dispatch

/// Work started on a dispatch queue whose outcome the starting thread collects later with
/// ``wait()``: the spoke applies one batch or snapshot chunk in SQLite this way while its worker
/// thread reads and decodes the next one.
///
/// `@unchecked Sendable`: `result` is written on the queue before `done` is signalled and read
/// only after the wait.
public final class BackgroundResult<Value>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<Value, any Error> = .failure(CancellationError())

    public init(on queue: DispatchQueue, _ work: @escaping @Sendable () throws -> Value) {
        queue.async { [self] in
            result = Result { try work() }
            done.signal()
        }
    }

    /// Blocks until the work has finished; its value or error. Call it once.
    public func wait() -> Result<Value, any Error> {
        done.wait()
        return result
    }
}
