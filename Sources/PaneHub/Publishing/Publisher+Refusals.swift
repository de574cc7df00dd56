import Foundation
import Logging
import Metrics
import PaneCore
import PaneRedis
import PaneRuntime
import PaneStore

extension Publisher {
    func outcome(of reply: RESPValue, region: Region, update: ContextUpdate, client: RedisClient) throws -> Outcome {
        guard case .failure(let refusal) = RedisConnection.xaddReply(reply) else { return .published }
        guard refusal.isIDNotAboveStreamTop else { throw refusal }
        let key = region.keys.updates
        let id = StreamEntryCodec.entryID(seq: update.seq)
        let existing = try client.run { conn throws(RedisError) in try conn.xrange(key: key, start: id, end: id) }
        if let entry = existing.first, let fields = entry.fields,
            let decoded = try? StreamEntryCodec.decode(entryID: entry.id, fields: fields, rules: BodyRules(maxBytes: Int.max)),
            decoded.id == update.id, decoded.version == update.version
        {
            // Our own entry: the hub died after XADD and before marking the outbox.
            Counter(label: "pane_hub_republish_skipped_total", dimensions: [("region", region.name)]).increment()
            return .published
        }
        if existing.isEmpty, try topIsOurs(region: region, client: client) {
            // Nothing at our id, and the top is an entry the hub wrote: ours went in earlier and
            // was trimmed once every replica had applied it (Redis kept it, the reply was lost,
            // e.g. when a cluster master died after replicating it). Entries go in order on one
            // connection, so a later entry of ours above it means this one was written too; if it
            // was not, the replicas see the gap and resync.
            Counter(label: "pane_hub_republish_skipped_total", dimensions: [("region", region.name)]).increment()
            logger.notice(
                "an unconfirmed entry is no longer in the stream, below the hub's own later entries: counted as published",
                metadata: ["stream": "\(key)", "seq": "\(update.seq)"])
            return .published
        }
        Counter(label: "pane_hub_publish_conflicts_total", dimensions: [("region", region.name)]).increment()
        logger.error(
            "CONFLICT: region stream's top is above our seq and the entry there is not ours; something other than the hub wrote to the stream (check the Redis ACL). Moving the foreign entries aside.",
            metadata: ["stream": "\(key)", "seq": "\(update.seq)", "ctx": "\(update.id)"])
        // A foreign entry at our very id is moved aside too; then the XADD is tried once more.
        let atOurID = existing.first.map { [$0] } ?? []
        try recoverFromForeignEntries(region: region, ownSeq: update.seq, also: atOurID, client: client)
        let retried = try client.run { conn throws(RedisError) in
            do throws(RedisError) {
                try conn.xadd(key: key, id: id, fields: StreamEntryCodec.encode(update))
                return true
            } catch where error.kind == .server {
                return false
            }
        }
        if retried { return .published }
        if !atOurID.isEmpty {
            // Our own later entries already sit above this id: it can never be placed. Skip it;
            // the replicas see the missing seq as a gap and resync.
            Counter(label: "pane_hub_seqs_skipped_total", dimensions: [("region", region.name)]).increment()
            logger.error(
                "seq could not be published after a foreign entry took its id; skipped, replicas will resync it",
                metadata: ["stream": "\(key)", "seq": "\(update.seq)", "ctx": "\(update.id)"])
            return .published
        }
        return .conflict
    }

    /// Whether the stream's top entry has a seq the hub allocated (not a foreign entry above them).
    func topIsOurs(region: Region, client: RedisClient) throws -> Bool {
        let lastAllocated = try store.lastSeq(region: region)
        let top = try client.run { conn throws(RedisError) in try conn.xrevrange(key: region.keys.updates, count: 1).first?.id }
        guard let top, let seq = StreamEntryCodec.seq(fromEntryID: top) else { return false }
        return seq <= lastAllocated
    }

    /// Moves entries that the hub did not write (ids past every seq it allocated, and `also`) to
    /// the dead-letter stream, deletes them, sets the stream's last id back to its top entry, and
    /// moves every consumer group that was delivered an id past that top back to it, so the
    /// next round can go on and every replica receives it.
    func recoverFromForeignEntries(region: Region, ownSeq: UInt64, also: [StreamEntry] = [], client: RedisClient) throws {
        let key = region.keys.updates
        let lastAllocated = try store.lastSeq(region: region)
        let start = "(\(lastAllocated)-0"
        let foreign = try also + client.run { conn throws(RedisError) in try conn.xrange(key: key, start: start, end: "+", count: 1000) }
        let (top, movedGroups) = try client.run { conn throws(RedisError) in
            if !foreign.isEmpty {
                var transaction = RedisTransaction()
                for entry in foreign {
                    var fields = entry.fields ?? []
                    fields.append(("error", Array("foreign entry: not written by the hub; its id lifted the stream top".utf8)))
                    fields.append(("original-id", Array(entry.id.utf8)))
                    fields.append(("time", Array(String(WallClock.nowMs()).utf8)))
                    transaction.commands.xadd(key: region.keys.deadLetters, fields: fields)
                    transaction.commands.xdel(key: key, ids: [entry.id])
                }
                try conn.exec(transaction)
            }
            // The last id a hub entry can have is the last seq it published; lowering it lets XADD go on.
            let top = try conn.xrevrange(key: key, count: 1).first?.id ?? "0-0"
            try conn.xsetid(key: key, lastID: top)
            // A group delivered a foreign id above the top would skip the hub's next entries
            // (they get lower ids): its replica would starve. Move it back to the top.
            var moved: [(ConsumerGroup, String)] = []
            for group in try conn.xinfoGroups(key: key) {
                guard let name = group["name"]?.string, let delivered = group["last-delivered-id"]?.string,
                    EntryIDRule.isAfter(delivered, top)
                else { continue }
                try conn.xgroupSetID(key: key, group: ConsumerGroup(name), id: top)
                moved.append((ConsumerGroup(name), delivered))
            }
            return (top, moved)
        }
        if !foreign.isEmpty {
            logger.error(
                "moved foreign entries to the dead-letter stream and reset the stream's last id",
                metadata: ["stream": "\(key)", "moved": "\(foreign.count)", "ownSeq": "\(ownSeq)", "top": "\(top)"])
        }
        for (group, delivered) in movedGroups {
            Counter(label: "pane_hub_groups_moved_back_total", dimensions: [("region", region.name)]).increment()
            logger.error(
                "moved a consumer group back to the stream's top: a foreign entry had taken it past the hub's seqs",
                metadata: ["stream": "\(key)", "group": "\(group)", "from": "\(delivered)", "to": "\(top)"])
        }
    }
}
