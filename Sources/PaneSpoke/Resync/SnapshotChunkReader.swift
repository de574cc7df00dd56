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
        if !streamed && index >= announcement.chunks { return nil }
        var waitStarted: ContinuousClock.Instant?
        var pauseMs = 1
        while true {
            if !requested { try request() }
            let replies = try client.run { conn throws(RedisError) in try conn.receive(streamed ? 2 : 1) }
            requested = false
            guard let bytes = replies[0].bytes else {
                guard streamed, replies[1].bytes != nil else {
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
                guard streamed else {
                    index += 1
                    if index < announcement.chunks { try request() }
                    return try SnapshotChunkCodec.decode(bytes)
                }
                switch try SnapshotStreamCodec.decode(bytes) {
                case .chunk(let found, let rows):
                    guard found == index else {
                        let element = SnapshotStreamCodec.listIndex(ofChunk: index)
                        throw SnapshotGone(detail: "element \(element) of \(announcement.key) holds chunk \(found), not \(index)")
                    }
                    index += 1
                    try request()
                    return rows
                case .end(let chunks, let rows):
                    guard chunks == index else {
                        throw SnapshotGone(detail: "\(announcement.key) ends after \(chunks) chunks, but chunk \(index) is its next element")
                    }
                    totals = (chunks, rows)
                    return nil
                case .begin:
                    throw SnapshotGone(detail: "element \(SnapshotStreamCodec.listIndex(ofChunk: index)) of \(announcement.key) is a second begin")
                }
            } catch let error as EntryError {
                throw SnapshotGone(detail: "chunk \(index) of \(announcement.key) is damaged: \(error)")
            }
        }
    }

    private func request() throws {
        var commands = RedisCommandBuffer()
        commands.lindex(key: announcement.listKey, index: streamed ? SnapshotStreamCodec.listIndex(ofChunk: index) : index)
        // A streamed list exists from its `begin` element on: with element 0 gone, the list is
        // gone (expired, deleted), not "not written yet". (LINDEX, not LLEN: the spoke's ACL has it.)
        if streamed { commands.lindex(key: announcement.listKey, index: 0) }
        try client.run { conn throws(RedisError) in try conn.send(commands) }
        requested = true
    }
}

/// A snapshot that cannot be applied: gone from Redis, damaged, or stalled.
struct SnapshotGone: Error, CustomStringConvertible {
    let detail: String
    var description: String { detail }
}
