import PaneCore
import PaneRedis
import PaneRuntime

extension RedisEndpoint {
    /// `regions` grouped by the Redis endpoint that holds them (the default endpoint when none is
    /// named), in a stable order: the publisher and the resync worker keep one lane per endpoint.
    static func lanes(_ regions: [Region], _ endpoints: [Region: RedisEndpoint]) -> [(RedisEndpoint, [Region])] {
        let groups = Dictionary(grouping: regions) { endpoints[$0] ?? RedisEndpoint(host: "127.0.0.1") }
        return groups.keys.sorted { $0.description < $1.description }.map { ($0, groups[$0] ?? []) }
    }
}
