import PaneRuntime
import PaneSpoke

/// The spoke's way to the hub for `consistency=hub` and `fallback=hub`: one blocking
/// ``HTTPProbe`` request on a thread of its own (`pane-hub-read`), never on an event loop. A
/// rare path: a new connection per request, with the spoke's token for the hub.
public struct HubHTTPReader: HubReading {
    public let host: String
    public let port: Int
    let token: String?
    let timeoutMs: Int

    public init(host: String, port: Int, token: String?, timeoutMs: Int = 5_000) {
        self.host = host
        self.port = port
        self.token = token
        self.timeoutMs = timeoutMs
    }

    public func get(_ path: String) async throws -> HubAnswer {
        let (host, port, token, timeoutMs) = (host, port, token, timeoutMs)
        return try await BlockingThread.value(name: "pane-hub-read") {
            let probe = HTTPProbe(host: host, port: port, timeoutMs: timeoutMs, token: token)
            defer { probe.close() }
            let reply = try probe.get(path)
            return HubAnswer(status: reply.status, etag: reply.header("etag"), body: reply.body)
        }
    }
}

