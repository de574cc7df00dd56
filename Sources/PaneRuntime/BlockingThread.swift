import Foundation
import Synchronization

/// Runs blocking work (hiredis calls, synchronous SQLite) on a thread of its own, so it never
/// occupies one of the cooperative pool's few threads (2 on these machines).
public enum BlockingThread {
    /// Starts `body` on a new thread and suspends until it returns.
    public static func run(name: String, _ body: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                nameCurrentThread(name)
                body()
                continuation.resume()
            }
            thread.name = name
            thread.stackSize = 1 << 20
            thread.start()
        }
    }
}

/// A flag one task sets to ask a blocking loop to stop after its current step.
public final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public func stop() { flag.store(true, ordering: .releasing) }
    public var isStopped: Bool { flag.load(ordering: .acquiring) }

    /// Sleeps up to `ms`, waking early (within 10 ms) when stopped.
    public func sleep(ms: Int) {
        var left = ms
        while left > 0 && !isStopped {
            let step = min(left, 10)
            Thread.sleep(forTimeInterval: Double(step) / 1000)
            left -= step
        }
    }
}

/// Names the calling thread for `top -H`, `perf` and debuggers (Linux keeps 15 characters).
public func nameCurrentThread(_ name: String) {
    // pthread_setname_np needs _GNU_SOURCE, which the Glibc module does not define.
    try? String(name.prefix(15)).write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
}

extension BlockingThread {
    /// Runs throwing blocking work on a thread of its own and returns its value.
    public static func value<T: Sendable>(name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let thread = Thread {
                nameCurrentThread(name)
                do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
            }
            thread.name = name
            thread.stackSize = 1 << 20
            thread.start()
        }
    }
}
