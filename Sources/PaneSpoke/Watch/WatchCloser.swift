import ServiceLifecycle

/// Ends every open watch stream when the spoke stops. A watch answer never ends on its own, and
/// the HTTP server's graceful shutdown waits for the answers in progress; this service, stopped
/// before the server (it comes after it in the spoke's services), closes them first.
struct WatchCloser: Service, CustomStringConvertible {
    let registry: WatchRegistry

    var description: String { "watch closer" }

    func run() async throws {
        // Returns on graceful shutdown (SIGTERM) and, throwing, on cancellation.
        try? await gracefulShutdown()
        registry.close()
    }
}
