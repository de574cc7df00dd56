import Dispatch
import PaneRuntime
import Testing

/// ``BackgroundResult``: what the spoke uses to apply a snapshot chunk (or a batch) on its
/// applier queue while the worker thread reads the next one.
@Suite struct BackgroundResultTests {
    struct Refused: Error, Equatable {}

    /// The work runs on the queue while the starting thread goes on: it waits for a signal the
    /// starter gives only after starting it (a synchronous run would time out and say so).
    @Test func theWorkRunsWhileTheStarterGoesOnAndItsValueIsCollected() async {
        await BlockingThread.run(name: "test-background") {
            let started = DispatchSemaphore(value: 0)
            let work = BackgroundResult(on: DispatchQueue(label: "test-applier")) {
                started.wait(timeout: .now() + 5) == .success ? 42 : -1
            }
            started.signal()
            #expect((try? work.wait().get()) == 42)
        }
    }

    @Test func anErrorOfTheWorkIsCollected() async {
        await BlockingThread.run(name: "test-background") {
            let work = BackgroundResult<Int>(on: DispatchQueue(label: "test-applier")) { throw Refused() }
            #expect(throws: Refused.self) { try work.wait().get() }
        }
    }
}
