import PaneRuntime
import ServiceLifecycle

/// Runs the ``Publisher`` on its own thread until graceful shutdown.
struct PublisherService: Service {
    let publisher: Publisher

    func run() async throws {
        let stop = StopFlag()
        await withGracefulShutdownHandler {
            await BlockingThread.run(name: "pane-publisher") { publisher.runBlocking(stop: stop) }
        } onGracefulShutdown: {
            stop.stop()
            publisher.store.doorbell.ring()
        }
    }
}
