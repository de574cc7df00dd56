import PaneRuntime
import ServiceLifecycle

/// Runs the ``RetentionWorker`` on its own thread until graceful shutdown.
struct RetentionService: Service {
    let worker: RetentionWorker

    func run() async throws {
        let stop = StopFlag()
        await withGracefulShutdownHandler {
            await BlockingThread.run(name: "pane-retention") { worker.runBlocking(stop: stop) }
        } onGracefulShutdown: {
            stop.stop()
        }
    }
}
