import PaneRedis
import PaneRuntime
import ServiceLifecycle

/// Runs the ``ResyncWorker`` on its own thread until graceful shutdown.
struct ResyncService: Service {
    let worker: ResyncWorker

    func run() async throws {
        let stop = StopFlag()
        await withGracefulShutdownHandler {
            await BlockingThread.run(name: "pane-resync") { worker.runBlocking(stop: stop) }
        } onGracefulShutdown: {
            stop.stop()
        }
    }
}
