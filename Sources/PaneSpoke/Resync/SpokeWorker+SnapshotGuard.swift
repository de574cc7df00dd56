import Foundation
import Logging
import Metrics
import PaneCore
import PaneRedis
import PaneRuntime
import PaneStore

/// A `snap` announcement is applied only when ``SnapshotGuard`` allows it: for this replica, at
/// the region's snapshot key, current to a seq below its own entry's, and answering a request
/// this replica knows.
extension SpokeWorker {
    /// The guard's verdict on `announcement`. The requests this replica knows are the ones it
    /// recorded when it sent them; when none matches, the two the hub and admins name in Redis
    /// are read too: the hub's verdict on this replica's digest (`<replica>:verdict` in
    /// `pane:{R}:replicas`, written before its snapshot is announced) and the last admin
    /// request (`admin-request` in `pane:{R}:hub`, written before the request is sent). A match
    /// there is recorded, so a restart resumes the snapshot without reading them again. A
    /// refusal is logged at warning level with its reason and counted; the caller dead-letters it.
    func guardSnapshot(_ announcement: SnapshotAnnouncement, entry: StreamEntry, entrySeq: UInt64, client: RedisClient) throws -> SnapshotGuard.Verdict {
        let expectedKey = config.region.keys.snapshot(epoch: announcement.epoch, streamed: announcement.isStreamed).rawValue
        func check(_ known: Set<String>) -> SnapshotGuard.Verdict {
            SnapshotGuard.check(announcement, entrySeq: entrySeq, replica: config.replica, expectedKey: expectedKey, known: known)
        }
        var verdict = check(try store.resyncRequestIDs())
        if case .refuse = verdict {
            let named = try requestsNamedInRedis(client: client)
            let answered = verdict
            verdict = check(named)
            if case .apply = verdict {
                for id in named where announcement.requestIDs.contains(id) { try store.recordResyncRequest(id, nowMs: WallClock.nowMs()) }
            } else {
                verdict = answered
            }
        }
        if case .refuse(let error) = verdict {
            Counter(label: "pane_spoke_snapshots_refused_total", dimensions: labels).increment()
            logger.warning(
                "snapshot announcement refused; not applied, dead-lettered",
                metadata: [
                    "entry": "\(entry.id)", "reason": "\(error.detail)", "epoch": "\(announcement.epoch)", "seq": "\(announcement.seq)",
                    "requests": "\(announcement.requestIDs.prefix(5).joined(separator: ","))",
                ])
        }
        return verdict
    }

    /// The request ids the hub's digest verdict on this replica and the last admin request name.
    func requestsNamedInRedis(client: RedisClient) throws -> Set<String> {
        let replies = try client.run { conn throws(RedisError) in
            var commands = RedisCommandBuffer()
            commands.hmget(key: config.region.keys.replicas, fields: ["\(config.replica.name):verdict"])
            commands.hmget(key: config.region.keys.hub, fields: [RegionKeys.HubField.adminRequest])
            return try conn.pipeline(commands)
        }
        var ids: Set<String> = []
        if let text = replies[0].array?.first?.string, let verdict = StatusJSON.decode(DigestVerdict.self, text),
            let id = verdict.resyncRequestID
        {
            ids.insert(id)
        }
        if let id = replies[1].array?.first?.string { ids.insert(id) }
        return ids
    }
}
