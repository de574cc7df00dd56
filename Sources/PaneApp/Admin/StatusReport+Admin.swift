import PaneCore
import PaneHub
import PaneRedis

/// `pane admin status`: ``PaneHub/StatusReport`` read through an admin connection, whose
/// failure names the Redis it could not reach.
extension StatusReport {
    /// Reads the status of `regions` from the Redis at `redis`.
    public static func collect(
        regions: [Region], redis: RedisEndpoint, thresholds: ReplicaState.Thresholds = ReplicaState.Thresholds()
    ) throws -> StatusReport {
        try collect(regions: regions, connection: try AdminRedis.connect(to: redis), thresholds: thresholds)
    }

    /// Regions that have a stream in this Redis (`pane:{R}:updates`), found with SCAN.
    public static func discoverRegions(redis: RedisEndpoint) throws -> [Region] {
        try discoverRegions(connection: try AdminRedis.connect(to: redis))
    }
}
