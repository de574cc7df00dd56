import Logging
import PaneCore
import PaneRedis
import PaneStore

extension StatusPage {
    /// Gathers the page's figures: a ``StatusReport`` from the Redis of each lane of the hub's
    /// regions (a server, or a region's cluster master; one that cannot be reached is named on
    /// the page with its error, and the rest still shows), the outbox backlog from the hub's
    /// store, the retention settings and the publisher's health. Blocking (hiredis, SQLite): call
    /// it from a thread of its own.
    public static func gather(store: HubStore, redis: RedisTopology, retention: ResyncConfiguration, publishing: PublishHealth)
        -> StatusPage
    {
        var results: [Endpoint] = []
        for lane in redis.lanes(store.regions) {
            // Short timeouts: a page about a Redis that is away must still answer.
            let client = lane.client(readTimeoutMs: 2_000, logger: Logger(label: "pane.status"))
            defer { client.close() }
            do {
                let report = try client.run { conn throws(RedisError) in
                    do { return try StatusReport.collect(regions: lane.regions.sorted(), connection: conn) } catch let error as RedisError {
                        throw error
                    } catch {
                        throw RedisError(.protocolViolation, "\(error)")
                    }
                }
                results.append(Endpoint(redis: client.endpoint.description, report: report, error: nil))
            } catch {
                results.append(Endpoint(redis: client.endpoint.description, report: nil, error: "\(error)"))
            }
        }
        let depth = (try? store.outboxDepth()) ?? [:]
        return StatusPage(
            endpoints: results, outboxBacklog: Dictionary(uniqueKeysWithValues: depth.map { ($0.key.name, $0.value) }),
            retentionMaxEntries: retention.retentionMaxEntries, retentionMaxAgeSeconds: retention.retentionMaxAgeSeconds,
            publishFailingMs: publishing.failingForMs(), generatedAtMs: WallClock.nowMs())
    }
}
