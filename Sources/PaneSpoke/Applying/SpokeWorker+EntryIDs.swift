import Foundation
import Logging
import PaneCore
import PaneRedis
import PaneRuntime

/// Every entry id is checked (``EntryIDRule``) before its seq is used: an id that is not
/// `<seq>-0`, a seq that does not fit the store, or one beyond the hub's highest seq is a dead
/// letter, never a crash.
extension SpokeWorker {
    /// One read through the group, and the hub's highest seq in the same pipeline: Redis runs
    /// the `HMGET` after the `XREADGROUP` (also after a `BLOCK`), so the seq it returns covers
    /// every entry of the hub's that the read returned, at no extra round trip. `acks`, the ids
    /// of entries already committed, go first (`XACK`): Redis acks them before the read blocks,
    /// and a read of the pending list (`0`) no longer sees them. `count` defaults to the batch size.
    func readCommands(blockMs: Int?, id: String, acks: [String] = [], count: Int? = nil) -> RedisCommandBuffer {
        var commands = RedisCommandBuffer()
        if !acks.isEmpty { commands.xack(key: key, group: group, ids: acks) }
        commands.xreadgroup(key: key, group: group, consumer: consumer, count: count ?? config.batchSize, blockMs: blockMs, id: id)
        commands.hmget(key: config.region.keys.hub, fields: [RegionKeys.HubField.seq])
        return commands
    }

    /// Reads the replies of ``readCommands(blockMs:id:acks:)``: the XACK's when `loop.acksSent`
    /// says one was sent, the entries, then the hub's seq into `loop`. The HMGET's reply is read
    /// even when the read's is an error, so the connection stays in step. An XACK refused
    /// (a key that is not a stream) leaves its entries pending: redelivered, and harmless.
    func receiveRead(_ conn: RedisConnection, loop: Loop) throws(RedisError) -> [StreamEntry] {
        if !loop.acksSent.isEmpty {
            let reply = try conn.receive(1, command: "XACK")[0]
            let acked = loop.acksSent.count
            loop.acksSent = []
            if case .error(let message) = reply {
                logger.warning("XACK refused; the entries stay pending and are redelivered", metadata: ["entries": "\(acked)", "error": "\(message)"])
            }
        }
        let entries: [StreamEntry]
        do {
            entries = try conn.receiveEntries(command: "XREADGROUP")
        } catch where !error.breaksConnection {
            // A refusal (NOGROUP) or an unreadable reply: the HMGET's reply is still due.
            _ = try conn.receive(1)
            throw error
        }
        let marker = try conn.receive(1)[0]
        if let text = marker.array?.first?.string, let seq = UInt64(text) { loop.hubSeq = seq }
        loop.hubSeqFresh = !entries.isEmpty
        return entries
    }

    /// The problems of the batch's entry ids, by entry id. When an entry lies beyond the hub's
    /// highest seq known, and that seq was not read right after these entries (claimed
    /// entries), re-reads it once (`pane:{R}:hub`): the hub writes it before the entries, so the
    /// value read now covers every entry of the hub's already read.
    func entryIDProblems(_ entries: [StreamEntry], loop: Loop, client: RedisClient) throws -> [String: EntryError] {
        defer { loop.hubSeqFresh = false }
        var problems: [String: EntryError] = [:]
        var seqs: [(String, UInt64)] = []
        seqs.reserveCapacity(entries.count)
        for entry in entries where entry.fields != nil {
            do throws(EntryError) { seqs.append((entry.id, try EntryIDRule.seq(of: entry.id))) } catch { problems[entry.id] = error }
        }
        guard let highest = seqs.map(\.1).max() else { return problems }
        if highest > (loop.hubSeq ?? 0) && !loop.hubSeqFresh {
            loop.hubSeq = try readHubSeq(client: client) ?? loop.hubSeq
        }
        for (id, seq) in seqs {
            do throws(EntryError) { try EntryIDRule.check(seq: seq, hubSeq: loop.hubSeq) } catch { problems[id] = error }
        }
        return problems
    }

    /// The hub's highest seq for the region; `nil` when no hub wrote it (a hub older than this
    /// check, or a stream written by hand): then only the form and the range are checked.
    func readHubSeq(client: RedisClient) throws -> UInt64? {
        let values = try client.run { conn throws(RedisError) in
            do throws(RedisError) {
                return try conn.hmget(key: config.region.keys.hub, fields: [RegionKeys.HubField.seq])
            } catch where error.kind == .server {
                return []  // not a hash (WRONGTYPE): as if unwritten, rather than stopping the worker
            }
        }
        return values.first.flatMap { $0.flatMap { UInt64($0) } }
    }
}
