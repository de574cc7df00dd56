import Foundation
import Logging
import PaneCore
import PaneRedis
import PaneRuntime

/// Every entry id is checked (``EntryIDRule``) before its seq is used: an id that is not
/// `<seq>-0`, a seq that does not fit the store, or one beyond the hub's highest seq is a dead
/// letter, never a crash.
extension SpokeWorker {
    /// The problems of the batch's entry ids, by entry id. Re-reads the hub's highest seq
    /// (`pane:{R}:hub`) once when an entry lies beyond the one known: the hub writes it before
    /// the entries, so the value read now covers every entry of the hub's already read.
    func entryIDProblems(_ entries: [StreamEntry], loop: Loop, client: RedisClient) throws -> [String: EntryError] {
        var problems: [String: EntryError] = [:]
        var seqs: [(String, UInt64)] = []
        seqs.reserveCapacity(entries.count)
        for entry in entries where entry.fields != nil {
            do throws(EntryError) { seqs.append((entry.id, try EntryIDRule.seq(of: entry.id))) } catch { problems[entry.id] = error }
        }
        guard let highest = seqs.map(\.1).max() else { return problems }
        if highest > (loop.hubSeq ?? 0) {
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
            try conn.hmget(key: config.region.keys.hub, fields: [RegionKeys.HubField.seq])
        }
        return values.first.flatMap { $0.flatMap { UInt64($0) } }
    }
}
