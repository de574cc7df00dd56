import HummingbirdCore
import Logging
import NIOCore
import Synchronization

/// Runs each connection's task on the event loop that owns its channel (a task executor
/// preference), not on Swift's cooperative pool.
///
/// Hummingbird reads a connection's requests and writes its answers from one task per
/// connection. On the cooperative pool every request crossed threads several times: the event
/// loop yields the request's parts to the task (a wake-up of a pool thread), the task writes the
/// answer through the channel's writer (a job on the event loop, a wake-up of its thread), and
/// the hub's write waits for the group commit and is resumed on the pool again. On the event
/// loop, the parts and the answer pass without a thread switch (NIO's async channel hands them
/// over directly when called on its loop), and a group commit's resumptions go one job per
/// request to the loops, which run them in one wake-up. The hub's CPU per write (docs/benchmarks.md,
/// "the hub's HTTP path") is what this buys.
///
/// A handler that blocks its thread holds up every connection of that loop, as it held up a pool
/// thread before (two of each on this machine): fit for handlers that await their slow work.
///
/// With ``LoopRoutes``, a ``LoopRouteHandler`` after Hummingbird's `HTTPConnectionStateHandler`
/// answers their requests on the loop without the connection's task. With `tasksOnLoops` false,
/// only that: the connection's task stays on the cooperative pool (the spoke, whose handlers read
/// SQLite, and whose watch streams are loop routes).
struct EventLoopConnections<Inner: ServerChildChannel>: ServerChildChannel {
    typealias Value = Inner.Value
    let inner: Inner
    var loopRoutes: LoopRoutes?
    var tasksOnLoops = true

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let value = inner.setup(channel: channel, logger: logger)
        guard let loopRoutes, !loopRoutes.routes.isEmpty else { return value }
        return value.flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let state = try pipeline.handler(type: HTTPConnectionStateHandler.self)
            try pipeline.addHandler(LoopRouteHandler(routes: loopRoutes), position: .after(state))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        guard tasksOnLoops else { return await inner.handle(value: value, logger: logger) }
        await withTaskExecutorPreference(EventLoopTaskExecutor.of(value.channel.eventLoop)) {
            await inner.handle(value: value, logger: logger)
        }
    }
}

extension HTTPServerBuilder {
    /// `.http1(configuration:)` whose connections run on their event loops (``EventLoopConnections``),
    /// or, with `tasksOnLoops` false, whose loop routes only are answered there.
    static func http1OnEventLoops(
        configuration: HTTP1Channel.Configuration, loopRoutes: LoopRoutes? = nil, tasksOnLoops: Bool = true
    ) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            EventLoopConnections(
                inner: HTTP1Channel(responder: responder, configuration: configuration), loopRoutes: loopRoutes, tasksOnLoops: tasksOnLoops)
        }
    }
}

/// A task executor that runs jobs on one NIO event loop, one per loop for the process's life.
final class EventLoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    private init(loop: any EventLoop) {
        self.loop = loop
    }

    private static let all = Mutex<[ObjectIdentifier: EventLoopTaskExecutor]>([:])

    /// The executor of `loop`, made at its first connection.
    static func of(_ loop: any EventLoop) -> EventLoopTaskExecutor {
        all.withLock { all in
            if let executor = all[ObjectIdentifier(loop)] { return executor }
            let executor = EventLoopTaskExecutor(loop: loop)
            all[ObjectIdentifier(loop)] = executor
            return executor
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
