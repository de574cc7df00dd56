import PaneCore

/// Bounds what `/status` costs however often it is asked for: concurrent requests share one
/// gathering (one thread, one Redis connection per endpoint), and a page younger than
/// `maxAgeMs` is served again. People read the page every few seconds; a loop of requests must
/// not open a connection each.
actor StatusPageCache {
    private let gather: @Sendable () async throws -> String
    private let maxAgeMs: Int64
    private var last: (atMs: Int64, html: String)?
    private var inflight: Task<String, any Error>?

    init(maxAgeMs: Int64 = 1_000, gather: @escaping @Sendable () async throws -> String) {
        self.maxAgeMs = maxAgeMs
        self.gather = gather
    }

    /// The current page: the last one if it is young enough, else the one being gathered, else a new one.
    func page() async throws -> String {
        if let last, WallClock.nowMs() - last.atMs < maxAgeMs { return last.html }
        if let inflight { return try await inflight.value }
        let task = Task { [gather] in try await gather() }
        inflight = task
        defer { inflight = nil }
        let html = try await task.value
        last = (WallClock.nowMs(), html)
        return html
    }
}
