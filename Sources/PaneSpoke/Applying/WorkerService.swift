import PaneRuntime
import ServiceLifecycle

/// Runs a ``SpokeWorker`` on its own thread until graceful shutdown.
struct WorkerService: Service {
    let worker: SpokeWorker

    func run() async throws {
        let stop = StopFlag()
        await withGracefulShutdownHandler {
            await BlockingThread.run(name: "pane-worker") { worker.runBlocking(stop: stop) }
        } onGracefulShutdown: {
            stop.stop()
        }
    }
}
