import Foundation
import Logging
import PaneRuntime
import ServiceLifecycle

/// Tells systemd (`Type=notify`) that a hub or spoke is ready, and that it stops: `READY=1`
/// once its HTTP server answers `/healthz` (the other services were started with it, by the
/// same group), `STOPPING=1` when the graceful shutdown begins. Listed last in the group, so it
/// is the first service to hear of the shutdown. Without `NOTIFY_SOCKET` it does nothing.
public struct SystemdReadiness: Service {
    let host: String
    let port: Int
    let logger: Logger

    public init(host: String, port: Int, logger: Logger) {
        self.host = host
        self.port = port
        self.logger = logger
    }

    /// Whether systemd asked for notifications.
    public static var isWanted: Bool { ProcessInfo.processInfo.environment["NOTIFY_SOCKET"] != nil }

    public func run() async throws {
        let probeHost = ["0.0.0.0", "::", "[::]", ""].contains(host) ? "127.0.0.1" : host
        let port = self.port
        do {
            try await cancelWhenGracefulShutdown {
                while true {
                    let up = try await BlockingThread.value(name: "pane-notify") {
                        (try? HTTPProbe(host: probeHost, port: port, timeoutMs: 500).get("/healthz").status) == 200
                    }
                    if up { break }
                    try await Task.sleep(for: .milliseconds(20))
                }
                if SystemdNotify.send("READY=1\nSTATUS=serving on \(host):\(port)") {
                    logger.info("told systemd READY=1")
                }
                try await gracefulShutdown()
            }
        } catch is CancellationError {
            // Shut down or cancelled: fall through and say so.
        }
        SystemdNotify.send("STOPPING=1")
    }
}
