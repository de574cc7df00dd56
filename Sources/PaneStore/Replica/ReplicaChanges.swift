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
            guard poll(&poller, 1, watch >= 0 ? 250 : 20) > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0, watch >= 0 else { continue }
            if Self.touches(buffer[0..<count], file: name) { signal.signal() }
        }
    }

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
