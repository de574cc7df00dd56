import ServiceLifecycle

/// Runs a blocking loop (hiredis calls, synchronous SQLite) on a thread of its own, as a
/// `Service` of a swift-service-lifecycle `ServiceGroup`. Every long-running loop of the hub and
/// the spoke runs through this one type.
///
/// The loop gets a ``StopFlag``. The service sets it, and calls the wake hook, on **graceful
/// shutdown** (SIGTERM, SIGINT: the loop finishes its step) and on **task cancellation** (the
/// group cancels every service when one of them fails, for example when the HTTP server cannot
/// listen), so the group always finishes. When the loop throws, the service throws a
/// ``LoopFailure`` naming the loop, and the group cancels the other services.
public struct BlockingService: Service, CustomStringConvertible {
    /// What the loop is called in messages: `publisher`, `resync worker`, `worker`…
    public let name: String
    /// The thread's name, for `top -H` (Linux keeps 15 characters): `pane-publisher`…
    public let threadName: String
    private let wake: (@Sendable () -> Void)?
    private let body: @Sendable (StopFlag) throws -> Void

    /// - Parameters:
    ///   - name: what the loop is called in messages (`publisher`).
    ///   - thread: the thread's name (`pane-publisher`).
    ///   - wake: called right after the stop flag is set, for a loop that sleeps on something
    ///     other than the flag (the publisher waits on the store's doorbell).
    ///   - body: the loop. It returns once the flag is set, and throws what it cannot recover from.
    public init(
        _ name: String, thread: String, wake: (@Sendable () -> Void)? = nil, body: @escaping @Sendable (StopFlag) throws -> Void
    ) {
        self.name = name
        self.threadName = thread
        self.wake = wake
        self.body = body
    }

    public var description: String { name }

    /// Runs the loop until it returns or throws; throws a ``LoopFailure`` for the latter.
    public func run() async throws {
        let stop = StopFlag()
        let wake = self.wake
        let body = self.body
        do {
            try await withTaskCancellationOrGracefulShutdownHandler {
                try await BlockingThread.value(name: threadName) { try body(stop) }
            } onCancelOrGracefulShutdown: {
                stop.stop()
                wake?()
            }
        } catch {
            throw LoopFailure(loop: name, underlying: error)
        }
    }
}

/// A blocking loop ended with an error: the loop's name and what it threw.
public struct LoopFailure: Error, CustomStringConvertible {
    /// The loop, as ``BlockingService/name``: `publisher`, `worker`…
    public let loop: String
    public let underlying: any Error

    public init(loop: String, underlying: any Error) {
        self.loop = loop
        self.underlying = underlying
    }

    /// Terse, for logs; `FailureMessage` (PaneApp) words the line the process prints.
    public var description: String { "LoopFailure(\(loop)): \(underlying)" }
}
