import PaneCore
import PaneHub
import PaneRedis

/// The Redis connection of an admin command. Blocking (hiredis): call it from a thread of its own.
public enum AdminRedis {
    /// Opens a connection; failing, names the Redis it could not reach.
    public static func connect(to redis: RedisEndpoint) throws -> RedisConnection {
        do { return try RedisConnection(endpoint: redis) } catch {
            throw AdminError.redisUnreachable(redis, error.message)
        }
    }

    /// Opens a connection for a command about `region`, and refuses a region that has neither a
    /// stream nor dead letters there (``AdminError/unknownRegion(_:redis:existing:)``, naming the
    /// regions that do have a stream): a mistyped region must not read as a healthy, empty one.
    public static func connect(to redis: RedisEndpoint, region: Region) throws -> RedisConnection {
        let conn = try connect(to: redis)
        if try conn.xinfoStream(key: region.keys.updates) != nil || conn.xlen(key: region.keys.deadLetters) > 0 { return conn }
        throw AdminError.unknownRegion(region, redis: redis, existing: try StatusReport.discoverRegions(redis: redis))
    }

    /// The Redis that holds `region`: its server (`redis.region.<name>`, else `redis.url`), or in
    /// a cluster (`redis.cluster`) the master of its slot, asked of the cluster. Blocking.
    public static func endpoint(for region: Region, source: ConfigSource) throws -> RedisEndpoint {
        if let cluster = try source.cluster(SettingKey.redisCluster, regions: [region]) {
            do { return cluster.endpoint(try cluster.master(of: region.keys.updates.hashSlot)) } catch {
                throw AdminError.redisUnreachable(cluster.seeds.first ?? RedisEndpoint(host: "127.0.0.1"), error.message)
            }
        }
        if let redis = try source.redis("\(SettingKey.regionRedisPrefix).\(region.name)") { return redis }
        return try source.defaultRedis()
    }

    /// The servers `pane admin status` asks: `redis.url`, or every master of the cluster, each with
    /// the regions it holds among `named` (every region, when `named` is nil). Blocking.
    public static func statusEndpoints(source: ConfigSource, named: [Region]?) throws -> [(RedisEndpoint, [Region]?)] {
        guard let cluster = try source.cluster(SettingKey.redisCluster, regions: named ?? []) else {
            return [(try source.defaultRedis(), named)]
        }
        let map: SlotMap
        do { map = try cluster.current() } catch {
            throw AdminError.redisUnreachable(cluster.seeds.first ?? RedisEndpoint(host: "127.0.0.1"), error.message)
        }
        return map.masters.map { master in
            (cluster.endpoint(master), named.map { $0.filter { map.master(of: $0.keys.updates.hashSlot) == master } })
        }
    }
}
