import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The promise that a process whose service failed exits within seconds, even when another
/// service does not stop when its group cancels it (a library that misses a cancellation, a
/// connection that never returns). The first failure arms the deadline; when it passes and the
/// process is still running, it logs which failure it was, prints the same one line as the
/// normal path (``FailureMessage``) and exits 1. The normal path claims the exit first when the
/// services do stop, so the line is printed once.
public final class ExitDeadline: Sendable {
    public let seconds: Double
    private let logger: Logger
    private let state = Mutex<(armed: Bool, exited: Bool)>((false, false))

    public init(seconds: Double = 4, logger: Logger) {
        self.seconds = seconds
        self.logger = logger
    }

    /// `service`, armed to start the deadline when it throws anything but a cancellation.
    public func watching(_ service: any Service) -> any Service {
        Watched(service: service, deadline: self)
    }

    /// Starts the countdown once, for the first failure.
    func arm(for error: any Error) {
        let first = state.withLock { state in
            defer { state.armed = true }
            return !state.armed
        }
        guard first else { return }
        let seconds = seconds
        let logger = logger
        let thread = Thread { [self] in
            Thread.sleep(forTimeInterval: seconds)
            guard claimExit() else { return }
            logger.error("services did not stop within \(seconds) s after a failure; exiting")
            FileHandle.standardError.write(Data("pane: \(FailureMessage.line(for: error))\n".utf8))
            // `_exit`, not `exit`: the process is stuck already, and `exit` runs atexit handlers
            // and flushes that may wait on a lock a stuck thread holds.
            _exit(1)
        }
        thread.name = "pane-exit-deadline"
        thread.start()
    }

    /// True for the first caller only: the one that prints the line and exits.
    public func claimExit() -> Bool {
        state.withLock { state in
            defer { state.exited = true }
            return !state.exited
        }
    }

    struct Watched: Service, CustomStringConvertible {
        let service: any Service
        let deadline: ExitDeadline

        var description: String { "\(service)" }

        func run() async throws {
            do {
                try await service.run()
            } catch {
                if !(error is CancellationError) { deadline.arm(for: error) }
                throw error
            }
        }
    }
}
