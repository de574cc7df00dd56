import Foundation
import PaneCore
import PaneRuntime
import PaneStore
import Synchronization

/// Reads a spoke's replica file in-process: microsecond reads without HTTP, for programs that
/// run beside a spoke on the same host.
///
/// The file is opened read-only (the spoke's workers keep writing it; SQLite's WAL lets readers
/// and the writer work at once, and a reader never blocks an apply). Answers are the replica's,
/// exactly as the spoke's HTTP API gives them: the same rows, the same position, the same stale
/// marks. ``changes(prefix:after:)`` follows the file's change log the way `GET /v1/watch`
/// does (the two share `PaneStore.ChangeFeed`), and wakes on the file's changes (inotify on
/// its folder, while someone waits), not on a timer.
///
/// ```swift
/// import PaneReader
///
/// let reader = try PaneReader(path: "/var/lib/pane/eu-west-1-a.sqlite")
/// if let settings = try reader.get(try ContextID("tenant/acme/settings")) {
///     print(settings.version, String(decoding: settings.body, as: UTF8.self), settings.staleReason ?? "fresh")
/// }
/// for item in try reader.list(prefix: "tenant/", limit: 100) { print(item.id, item.version) }
/// print(try reader.position())     // the replica's watermark and change position
///
/// // Every live context under tenant/, then every change as it is applied; keep the last
/// // position to resume after a restart without a new full transfer.
/// var saved: WatchPosition? = nil
/// for try await event in reader.changes(prefix: "tenant/", after: saved) {
///     switch event {
///     case .put(let id, let version, let body, _): apply(id, version, body)
///     case .delete(let id, _, _): remove(id)
///     case .reset: clearEverything()          // a full transfer follows
///     case .synced, .progress: break
///     }
///     saved = event.position ?? saved
/// }
/// ```
public final class PaneReader: Sendable {
    /// The replica file.
    public let path: String
    let reader: ReplicaReader
    let signal = ChangeSignal()
    private let watch = Mutex<StopFlag?>(nil)

    /// Opens the replica file at `path` read-only. Throws ``PaneReaderError`` when the file
    /// cannot be opened or was not written by a spoke of this version (it has no change log).
    public init(path: String) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            throw PaneReaderError(path: path, reason: "no such file: give the path of a spoke's replica file (its --db)")
        }
        self.reader = ReplicaReader(path: path)
        do {
            _ = try reader.changeLog()
        } catch {
            throw PaneReaderError(path: path, reason: "not a replica file this reader can follow: \(error)")
        }
    }

    deinit {
        watch.withLock { $0?.stop() }
    }

    /// One live context, or nil when the replica has none under `id` (never written, or deleted).
    public func get(_ id: ContextID) throws -> ReaderContext? {
        let read = try reader.context(id: id)
        guard let context = read.context, !context.deleted else { return nil }
        return ReaderContext(
            id: context.id, version: context.version, body: context.body, updatedAtMs: context.updatedAtMs, staleReason: read.staleReason)
    }

    /// Live contexts in id order under `prefix`, starting after `after`, at most `limit` (1–10,000).
    public func list(prefix: String = "", after: String? = nil, limit: Int = 100) throws -> [(id: String, version: Int64)] {
        try reader.list(prefix: prefix, after: after, limit: min(max(limit, 1), 10_000)).items
    }

    /// The replica's position: its watermark in the region stream and its change position.
    public func position() throws -> ReaderPosition {
        let (log, watermark) = try reader.changeLog()
        return ReaderPosition(watermark: watermark, change: WatchPosition(file: log.file, change: log.change))
    }

    /// The contexts the replica knows to be behind the hub (a dead-lettered update), with the
    /// version that heals each mark and the reason.
    public func staleMarks() throws -> [(id: String, version: Int64, reason: String)] {
        try reader.staleMarks()
    }

    /// The changes under `prefix` after `position`: with no position, every live context (a
    /// full transfer) and `synced`; then every change as the spoke applies it. A position the
    /// file cannot resume from (another replica file, or older than its log) gives `reset`
    /// first, then a full transfer. The sequence ends only when its task is cancelled.
    public func changes(prefix: String = "", after position: WatchPosition? = nil) -> ReaderChanges {
        startWatching()
        return ReaderChanges(reader: self, prefix: prefix, after: position)
    }

    /// Starts the file watch (a thread of its own, `pane-reader`) once.
    private func startWatching() {
        let stop: StopFlag? = watch.withLock { current in
            guard current == nil else { return nil }
            let stop = StopFlag()
            current = stop
            return stop
        }
        guard let stop else { return }
        let changes = ReplicaChanges(path: path, signal: signal)
        let thread = Thread {
            // The watch only fails when inotify cannot be set up; the sequence then wakes on
            // its five-second safety timer instead.
            try? changes.runBlocking(stop: stop)
        }
        thread.name = "pane-reader"
        thread.start()
    }
}
