import Hummingbird
import Logging
import Metrics
import NIOCore
import PaneCore
import PaneHTTP
import PaneStore
import Synchronization

/// `GET /v1/watch?prefix=P`: the replica's changes under a prefix as Server-Sent Events
/// (docs/architecture.md, "Watching a prefix").
///
/// Each watcher is a task, not a thread: it reads a page of the change log (``ChangeFeed``),
/// writes it, and sleeps on the spoke's ``PaneRuntime/ChangeSignal`` until the replica's file
/// changes (any worker's commit) or a progress event is due. A watcher whose write waits longer
/// than ``SpokeConfiguration/watchWriteTimeoutMs`` (it does not read) is cut off, with a log
/// line and `pane_spoke_watch_cutoffs_total`.
struct SpokeWatch: Sendable {
    let store: ReplicaStore
    let reads: SpokeReads
    let registry: WatchRegistry
    let progressMs: Int
    let writeTimeoutMs: Int
    let labels: [(String, String)]
    let logger: Logger

    func response(_ request: Request) throws -> Response {
        let prefix = PaneHTTP.query(request, "prefix") ?? ""
        guard prefix.utf8.count <= ContextID.maxLength else {
            throw ValidationError(input: "prefix", value: prefix, reason: "a prefix is at most \(ContextID.maxLength) bytes, as a context id")
        }
        if let accept = request.headers[.accept], !Self.accepts(accept) {
            return PaneHTTP.error(.notAcceptable, "a watch answers text/event-stream (Server-Sent Events): send Accept: text/event-stream")
        }
        let position = try request.headers[.lastEventID].flatMap { text -> WatchPosition? in
            let text = text.trimmingCharacters(in: .whitespaces)
            return text.isEmpty ? nil : try WatchPosition(parsing: text, input: "Last-Event-ID")
        }
        guard registry.enter() else {
            Counter(label: "pane_spoke_watch_refused_total", dimensions: labels).increment()
            let why =
                registry.isClosing
                ? "this spoke is stopping: reconnect to another worker or later"
                : "this spoke serves \(registry.limit) watchers already (spoke.maxWatchers): reconnect later or to another worker"
            return PaneHTTP.error(.serviceUnavailable, why)
        }
        // The slot is given back when the answer is gone, whether its body ran or not (a client
        // that leaves before the head is written).
        let slot = WatchSlot(registry: registry)
        let feed = try store.changeFeed(prefix: prefix, after: position)
        let headers: HTTPFields = [
            .contentType: "text/event-stream", .cacheControl: "no-cache", .xAccelBuffering: "no",
            .paneSource: "replica",
        ]
        let stream = WatchStream(
            feed: feed, reads: reads, registry: registry, progressMs: progressMs, writeTimeoutMs: writeTimeoutMs, labels: labels,
            logger: logger)
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                defer { withExtendedLifetime(slot) {} }
                try await stream.run(&writer)
            })
    }

    /// Whether an `Accept` header takes `text/event-stream`.
    static func accepts(_ accept: String) -> Bool {
        accept.split(separator: ",").contains { range in
            let type = range.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            return type == "text/event-stream" || type == "text/*" || type == "*/*"
        }
    }
}
