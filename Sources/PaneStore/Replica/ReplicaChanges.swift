import Foundation
import PaneRuntime

#if canImport(Glibc)
    import Glibc
#endif

/// Notices every change to a replica's SQLite file, by any process, as it is written: an
/// inotify watch on the file's folder for writes to the file and its WAL. Every worker of the
/// replica commits through the WAL, so a commit by another worker process wakes this one's
/// waiting reads too. Runs as a blocking loop on a thread of its own (`pane-changes`).
public struct ReplicaChanges: Sendable {
    public let path: String
    public let signal: ChangeSignal

    public init(path: String, signal: ChangeSignal) {
        self.path = path
        self.signal = signal
    }

    /// Watches until `stop` is set; a change calls ``ChangeSignal/signal()``. Throws when inotify
    /// cannot be set up.
    ///
    /// The watch exists only while a read waits. A watch on the file's folder costs every write
    /// to the WAL a kernel event and this thread a wake-up: in `steady` (5,000 writes/s) that was
    /// a third of the spoke's CPU, for nobody. So while no read waits, the loop only looks every
    /// 20 ms whether one started; when it adds the watch it signals once, so a waiter that read
    /// the file before the watch existed reads it again and misses nothing. The watch stays 5 s
    /// after the last waiter, so reads that wait one after the other keep it.
    ///
    /// inotify reports the WAL's writes, and a commit is visible to readers only once the writer
    /// has updated the WAL index (`-shm`, a shared mapping, whose writes raise no event) just
    /// after its last frame. A reader woken by the last frame's event can still find the commit
    /// invisible, and no later event would wake it again. So the loop also signals
    /// ``trailingDelays`` after the last event it saw: then the commit is visible.
    public func runBlocking(stop: StopFlag) throws {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let folder = url.deletingLastPathComponent().path
        let name = url.lastPathComponent
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw ChangeWatchError(path: folder, errno: errno) }
        defer { close(fd) }
        var watch: Int32 = -1
        var lastWaiter = ContinuousClock.now
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        var trailing = TrailingSignals(delays: Self.trailingDelays)
        while !stop.isStopped {
            let waiting = signal.waiting > 0
            if waiting { lastWaiter = .now }
            if waiting && watch < 0 {
                watch = inotify_add_watch(fd, folder, UInt32(IN_MODIFY | IN_CREATE | IN_MOVED_TO))
                guard watch >= 0 else { throw ChangeWatchError(path: folder, errno: errno) }
                signal.signal()
            } else if !waiting && watch >= 0 && ContinuousClock.now - lastWaiter > .seconds(5) {
                inotify_rm_watch(fd, watch)
                watch = -1
            }
            poller.revents = 0
            let idleMs: Int32 = watch >= 0 ? 250 : 20
            let timeout = trailing.due(at: .now).map { min(idleMs, Int32(clamping: $0)) } ?? idleMs
            let ready = poll(&poller, 1, timeout) > 0
            // Checked whatever woke the poll: events of other files in the folder (a latency log)
            // must not hold the trailing signal back.
            if trailing.fire(at: .now) { signal.signal() }
            guard ready else { continue }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0, watch >= 0 else { continue }
            if Self.touches(buffer[0..<count], file: name) {
                signal.signal()
                trailing.start(at: .now)
            }
        }
    }

    /// After the last event, the signals that follow it: a few milliseconds (the writer updates
    /// the WAL index microseconds after its last frame), and once more in case the writer's
    /// thread was not running then.
    static let trailingDelays: [Duration] = [.milliseconds(3), .milliseconds(50)]

    /// Whether the inotify events in `events` name `file` or its `-wal`.
    static func touches(_ events: ArraySlice<UInt8>, file: String) -> Bool {
        let names: Set<String> = [file, file + "-wal"]
        var offset = events.startIndex
        let header = MemoryLayout<inotify_event>.size
        while offset + header <= events.endIndex {
            let length = events[offset + 12..<offset + 16].withUnsafeBytes { Int($0.loadUnaligned(as: UInt32.self)) }
            let start = offset + header
            let end = min(start + length, events.endIndex)
            let raw = events[start..<end].prefix { $0 != 0 }
            if names.contains(String(decoding: raw, as: UTF8.self)) { return true }
            offset = start + length
        }
        return false
    }
}

/// inotify could not watch the replica's folder.
public struct ChangeWatchError: Error, CustomStringConvertible {
    public let path: String
    public let errno: Int32

    public var description: String { "cannot watch \(path) for changes: \(String(cString: strerror(errno)))" }
}

/// The signals that follow a burst of file events (``ReplicaChanges``): each event starts the
/// list of delays again, measured from it; when a delay has passed, one signal. Pure: the caller
/// passes the time.
struct TrailingSignals {
    let delays: [Duration]
    private var last: ContinuousClock.Instant?
    private var next = 0

    init(delays: [Duration]) { self.delays = delays }

    /// An event at `now`.
    mutating func start(at now: ContinuousClock.Instant) {
        last = now
        next = 0
    }

    /// Milliseconds until the next trailing signal is due (0 when it is), nil when none waits.
    func due(at now: ContinuousClock.Instant) -> Int? {
        guard let last, next < delays.count else { return nil }
        let left = (last + delays[next]) - now
        guard left > .zero else { return 0 }
        let (seconds, attoseconds) = left.components
        return Int(seconds) * 1000 + Int((attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
    }

    /// Whether a trailing signal is due at `now`; if so it counts as given.
    mutating func fire(at now: ContinuousClock.Instant) -> Bool {
        guard due(at: now) == 0 else { return false }
        next += 1
        return true
    }
}
