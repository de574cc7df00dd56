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

    /// Watches until `stop` is set (checked at least every 250 ms); a change calls
    /// ``ChangeSignal/signal()``. Throws when inotify cannot watch the folder.
    public func runBlocking(stop: StopFlag) throws {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let folder = url.deletingLastPathComponent().path
        let name = url.lastPathComponent
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw ChangeWatchError(path: folder, errno: errno) }
        defer { close(fd) }
        guard inotify_add_watch(fd, folder, UInt32(IN_MODIFY | IN_CREATE | IN_MOVED_TO)) >= 0 else {
            throw ChangeWatchError(path: folder, errno: errno)
        }
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while !stop.isStopped {
            poller.revents = 0
            guard poll(&poller, 1, 250) > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { continue }
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
