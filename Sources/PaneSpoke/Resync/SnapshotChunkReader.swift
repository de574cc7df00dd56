import Foundation
import PaneCore
import PaneRedis
import PaneRuntime

/// Reads an announced snapshot's chunks from Redis in order, one request ahead: the next chunk
/// is asked for before the current one is applied, so Redis sends it while SQLite writes.
///
/// A streamed snapshot (``SnapshotAnnouncement/streamed``) may not be written yet: a chunk that
/// is not there while the list exists is waited for, up to `stallMs` without a new chunk; the
/// list ends with an `end` element whose totals must match what was read
/// (``SnapshotStreamCodec``). Everything read is untrusted: a chunk that is gone, cannot be
/// decoded, or sits at the wrong place, an `end` that disagrees, a stream that stalls, all
/// throw ``SnapshotGone``, after which the caller gives the snapshot up. Redis errors propagate.
final class SnapshotChunkReader {
    let announcement: SnapshotAnnouncement
    let client: RedisClient
    let stallMs: Int64
    /// The next chunk to read.
    private(set) var index: Int
    /// The streamed snapshot's totals, once its `end` element was read.
    private(set) var totals: (chunks: Int, rows: Int)?
    /// How long this reader waited for the hub to write chunks, in seconds.
    private(set) var waitedSeconds = 0.0
    /// Whether a request for chunk ``index`` was sent and its reply is unread.
    private var requested = false

    init(_ announcement: SnapshotAnnouncement, first: Int, client: RedisClient, stallMs: Int64) {
        self.announcement = announcement
        self.client = client
        self.stallMs = max(1, stallMs)
        self.index = first
    }

    private var streamed: Bool { announcement.isStreamed }

    /// The next chunk's rows, or `nil` after the last.
    func next() throws -> [SnapshotRow]? {
        if !streamed && index >= announcement.chunks {
            finish()
            return nil
        }
        var waitStarted: ContinuousClock.Instant?
        var pauseMs = 1
        while true {
            if !requested { try request() }
            let (element, listExists) = try receive()
            requested = false
            guard let element else {
                guard streamed, listExists else {
                    throw SnapshotGone(detail: "chunk \(index) of \(announcement.key) is gone (expired, or the hub gave the snapshot up)")
                }
                // Not written yet: the hub is still reading.
                let started = waitStarted ?? ContinuousClock.now
                waitStarted = started
                let waited = ContinuousClock.now - started
                guard waited < .milliseconds(stallMs) else {
                    throw SnapshotGone(detail: "no chunk \(index) of \(announcement.key) for \(stallMs) ms: the hub stopped writing it")
                }
                Thread.sleep(forTimeInterval: Double(pauseMs) / 1000)
                waitedSeconds += Double(pauseMs) / 1000
                pauseMs = min(pauseMs * 2, 20)
                continue
            }
            do {
                switch try element.get() {
                case .chunk(let found, let rows):
                    guard found == index else {
                        let element = SnapshotStreamCodec.listIndex(ofChunk: index)
                        throw SnapshotGone(detail: "element \(element) of \(announcement.key) holds chunk \(found), not \(index)")
                    }
                    index += 1
                    if streamed || index < announcement.chunks { try request() }
                    return rows
                case .end(let chunks, let rows):
                    guard chunks == index else {
                        throw SnapshotGone(detail: "\(announcement.key) ends after \(chunks) chunks, but chunk \(index) is its next element")
                    }
                    totals = (chunks, rows)
                    finish()
                    return nil
                case .begin:
                    throw SnapshotGone(detail: "element \(SnapshotStreamCodec.listIndex(ofChunk: index)) of \(announcement.key) is a second begin")
                }
            } catch let error as EntryError {
                throw SnapshotGone(detail: "chunk \(index) of \(announcement.key) is damaged: \(error)")
            }
        }
    }

    /// Reads the replies of ``request()``: the element asked for, decoded where hiredis received
    /// it (no copy of the chunk's bytes; `nil` when it is not there), and, for a streamed
    /// snapshot, whether the list still exists. A chunk of a snapshot written in full is
    /// taken as chunk ``index``.
    private func receive() throws -> (element: Result<SnapshotStreamCodec.Element, EntryError>?, listExists: Bool) {
        let streamed = self.streamed
        let expected = index
        return try client.run { conn throws(RedisError) in
            let element = try conn.receiveBulkString { bytes in
                bytes.map { bytes in
                    Result { () throws(EntryError) -> SnapshotStreamCodec.Element in
                        guard streamed else { return .chunk(index: expected, rows: try SnapshotChunkCodec.decode(bytes, from: 0)) }
                        return try SnapshotStreamCodec.decode(bytes)
                    }
                }
            }
            let listExists = streamed ? try conn.receiveBulkString { $0 != nil } : true
            return (element, listExists)
        }
    }

    /// After the last element: the connection frees its read buffer between replies again.
    private func finish() {
        _ = try? client.run { conn throws(RedisError) in conn.keepReadBuffer(false) }
    }

    private func request() throws {
        var commands = RedisCommandBuffer()
        commands.lindex(key: announcement.listKey, index: streamed ? SnapshotStreamCodec.listIndex(ofChunk: index) : index)
        // A streamed list exists from its `begin` element on: with element 0 gone, the list is
        // gone (expired, deleted), not "not written yet". (LINDEX, not LLEN: the spoke's ACL has it.)
        if streamed { commands.lindex(key: announcement.listKey, index: 0) }
        // Chunks of about 600 KB one after the other: hiredis keeps its read buffer between
        // them instead of growing a new one for each (``finish()`` gives the default back).
        try client.run { conn throws(RedisError) in
            conn.keepReadBuffer(true)
            try conn.send(commands)
        }
        requested = true
    }
}

/// A snapshot that cannot be applied: gone from Redis, damaged, or stalled.
struct SnapshotGone: Error, CustomStringConvertible {
    let detail: String
    var description: String { detail }
}
