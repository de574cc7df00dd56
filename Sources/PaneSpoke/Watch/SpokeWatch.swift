import Dispatch
import Foundation
import HTTPTypes
import Logging
import Metrics
import NIOCore
import PaneCore
import PaneHTTP
import PaneRuntime
import PaneStore
import Synchronization

/// `GET /v1/watch?prefix=P`: the replica's changes under a prefix as Server-Sent Events
/// (docs/architecture.md, "Watching a prefix").
///
/// A watch is a ``PaneHTTP/LoopRoute`` whose answer is a stream (``PaneHTTP/LoopStream``): each
/// watcher is one small object on its connection's event loop (``Watcher``), not a Swift task.
/// The watchers of one loop (``WatchLoop``) wake together on the spoke's
/// ``PaneRuntime/ChangeSignal`` (any worker's commit), read their change pages (``ChangeFeed``)
/// off the loop on one shared queue, and write them to their channels; progress events and the
/// write deadline are event-loop timers. A watcher whose channel stays full (it does not read)
/// for ``SpokeConfiguration/watchWriteTimeoutMs`` is cut off, with a log line and
/// `pane_spoke_watch_cutoffs_total`.
final class SpokeWatch: Sendable {
    let store: ReplicaStore
    let reads: SpokeReads
    let registry: WatchRegistry
    let progress: TimeAmount
    let writeTimeoutMs: Int
    let logger: Logger
    let refused: Counter
    let cutoffs: Counter
    /// Where the change pages are read (and new watches' feeds made), off the event loops.
    let queue = DispatchQueue(label: "pane-watch-reads")
    private let loops = Mutex<[ObjectIdentifier: WatchLoop]>([:])

    init(
        store: ReplicaStore, reads: SpokeReads, registry: WatchRegistry, progressMs: Int, writeTimeoutMs: Int,
        labels: [(String, String)], logger: Logger
    ) {
        self.store = store
        self.reads = reads
        self.registry = registry
        self.progress = .milliseconds(Int64(progressMs))
        self.writeTimeoutMs = writeTimeoutMs
        self.logger = logger
        self.refused = Counter(label: "pane_spoke_watch_refused_total", dimensions: labels)
        self.cutoffs = Counter(label: "pane_spoke_watch_cutoffs_total", dimensions: labels)
    }

    static let headers: HTTPFields = [
        .contentType: "text/event-stream", .cacheControl: "no-cache", .xAccelBuffering: "no", .paneSource: "replica",
    ]

    /// The route, answered on the connection's event loop (and through the router for odd
    /// spellings of the path).
    var route: LoopRoute {
        LoopRoute(method: .get, path: .exact("/v1/watch")) { [self] request in
            try self.start(request)
        }
    }

    private func start(_ request: LoopRequest) throws -> LoopBody {
        let prefix = request.query("prefix") ?? ""
        guard prefix.utf8.count <= ContextID.maxLength else {
            throw ValidationError(input: "prefix", value: prefix, reason: "a prefix is at most \(ContextID.maxLength) bytes, as a context id")
        }
        if let accept = request.headers[.accept], !Self.accepts(accept) {
            return .now(PaneHTTP.errorAnswer(.notAcceptable, "a watch answers text/event-stream (Server-Sent Events): send Accept: text/event-stream"))
        }
        let position = try request.headers[.lastEventID].flatMap { text -> WatchPosition? in
            let text = text.trimmingCharacters(in: .whitespaces)
            return text.isEmpty ? nil : try WatchPosition(parsing: text, input: "Last-Event-ID")
        }
        guard registry.enter() else {
            refused.increment()
            let why =
                registry.isClosing
                ? "this spoke is stopping: reconnect to another worker or later"
                : "this spoke serves \(registry.limit) watchers already (spoke.maxWatchers): reconnect later or to another worker"
            return .now(PaneHTTP.errorAnswer(.serviceUnavailable, why))
        }
        // The slot is given back when the watcher is gone, whether its stream started or not (a
        // client that leaves before the head is written).
        let slot = WatchSlot(registry: registry)
        return LoopBody(limit: nil) { [self] _, done in
            queue.async {
                do {
                    let feed = try self.store.changeFeed(prefix: prefix, after: position)
                    done(.success(Answer(status: .ok, headers: Self.headers, stream: Watcher(watch: self, feed: feed, slot: slot))))
                } catch {
                    done(.failure(error))
                }
            }
        }
    }

    /// The watchers of `loop`, made at its first watcher; they wake on every change signal.
    func loop(_ loop: any EventLoop) -> WatchLoop {
        loops.withLock { loops in
            if let watchers = loops[ObjectIdentifier(loop)] { return watchers }
            let watchers = WatchLoop(loop: loop, watch: self)
            loops[ObjectIdentifier(loop)] = watchers
            registry.changes.observe { watchers.signalled() }
            return watchers
        }
    }

    /// Whether an `Accept` header takes `text/event-stream`.
    static func accepts(_ accept: String) -> Bool {
        accept.split(separator: ",").contains { range in
            let type = range.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            return type == "text/event-stream" || type == "text/*" || type == "*/*"
        }
    }
}
