import Foundation
import Logging
import Metrics
import PaneCore
import PaneRedis
import PaneRuntime
import PaneStore

extension SpokeWorker {
    /// Publishes the replica's digest when this worker's turn has come (one worker per interval).
    /// The digest reads every row, about a second per million: it runs on a thread of its own,
    /// with its own read transaction and Redis connection, so the worker keeps applying.
    ///
    /// A bootstrapping replica publishes none: it holds part of the region at most, at watermark
    /// 0, so the hub would find every bucket in flux and judge nothing, after reading its whole
    /// region for its own digest (a million rows, on the thread that streams the bootstrap
    /// snapshot, while the replica still applies it). Its first digest follows the bootstrap.
    func publishDigestIfDue(client: RedisClient) throws {
        guard !status.isBootstrapping, !digestRunning.load(ordering: .acquiring) else { return }
        let now = WallClock.nowMs()
        guard try store.claimDigestTurn(nowMs: now, intervalMs: Int64(config.digestIntervalMs)) else { return }
        digestRunning.store(true, ordering: .releasing)
        let thread = Thread { [self] in
            nameCurrentThread("pane-digest")
            defer { digestRunning.store(false, ordering: .releasing) }
            let started = Date()
            do {
                // Format 2 only once the hub says it reads it; a format-1 report has no `format`.
                let format = max(1, hubDigestFormat.load(ordering: .relaxed))
                let scanStarted = WallClock.nowMs()
                let (digest, position, maxVersion) = try store.digest(format: format)
                let report = DigestReport(
                    replica: config.replica.name, position: position, timeMs: WallClock.nowMs(), digest: digest.encoded,
                    format: format >= 2 ? format : nil, maxVersion: maxVersion, scanStartedMs: scanStarted)
                let client = config.topology.client(for: config.region, logger: logger)
                defer { client.close() }
                _ = try client.run { conn throws(RedisError) in
                    try conn.hset(key: config.region.keys.replicas, field: "\(config.replica.name):digest", value: StatusJSON.encode(report))
                }
                logger.debug(
                    "published the replica's digest", metadata: ["position": "\(position)", "ms": "\(Int(Date().timeIntervalSince(started) * 1000))"])
            } catch {
                logger.warning("could not publish the replica's digest; the next interval tries again", metadata: ["error": "\(error)"])
            }
        }
        thread.start()
    }
}
