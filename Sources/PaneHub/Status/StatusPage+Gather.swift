import PaneCore
import PaneRedis
import PaneStore

extension StatusPage {
    /// Gathers the page's figures: a ``StatusReport`` from each Redis endpoint of the hub's
    /// regions (one that cannot be reached is named on the page with its error, and the rest
    /// still shows), the outbox backlog from the hub's store, the retention settings and the
    /// publisher's health. Blocking (hiredis, SQLite): call it from a thread of its own.
    public static func gather(store: HubStore, endpoints: [Region: RedisEndpoint], retention: ResyncConfiguration, publishing: PublishHealth)
        -> StatusPage
    {
        var byEndpoint: [RedisEndpoint: [Region]] = [:]
        for (region, endpoint) in endpoints { byEndpoint[endpoint, default: []].append(region) }
        var results: [Endpoint] = []
        for (endpoint, regions) in byEndpoint.sorted(by: { $0.key.description < $1.key.description }) {
            do {
                // Short timeouts: a page about a Redis that is away must still answer.
                let conn = try RedisConnection(endpoint: endpoint, connectTimeoutMs: 1_000, readTimeoutMs: 2_000)
                defer { conn.close() }
                let report = try StatusReport.collect(regions: regions.sorted(), connection: conn)
                results.append(Endpoint(redis: endpoint.description, report: report, error: nil))
            } catch {
                results.append(Endpoint(redis: endpoint.description, report: nil, error: "\(error)"))
            }
        }
        let depth = (try? store.outboxDepth()) ?? [:]
        return StatusPage(
            endpoints: results, outboxBacklog: Dictionary(uniqueKeysWithValues: depth.map { ($0.key.name, $0.value) }),
            retentionMaxEntries: retention.retentionMaxEntries, retentionMaxAgeSeconds: retention.retentionMaxAgeSeconds,
            publishFailingMs: publishing.failingForMs(), generatedAtMs: WallClock.nowMs())
    }
}
