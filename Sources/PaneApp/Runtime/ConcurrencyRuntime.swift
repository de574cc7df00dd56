import NIOCore
import NIOPosix

/// Where Swift concurrency runs its tasks in the `pane` processes.
public enum ConcurrencyRuntime {
    /// Makes NIO's event loops (the threads Hummingbird serves HTTP on) Swift concurrency's
    /// global executor. A request handler then runs on the loop that read the request, instead
    /// of hopping to the cooperative pool and back; `steady` measured the hub's CPU per write
    /// and its latency with and without it (docs/benchmarks.md). Blocking work stays where it
    /// was: Redis and the apply loop run on threads of their own, SQLite writes on GRDB's queue.
    /// Call once, from the main thread, before the first task starts.
    public static func runTasksOnEventLoops() {
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }
}
