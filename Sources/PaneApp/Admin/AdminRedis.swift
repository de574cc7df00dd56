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
}
