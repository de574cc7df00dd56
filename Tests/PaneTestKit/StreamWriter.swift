import PaneCore
import PaneRedis

/// Plays the hub: writes entries straight into a region stream with the codec.
public struct StreamWriter {
    public let conn: RedisConnection
    public let key: StreamKey

    /// A writer of `region`'s stream on the test run's Redis.
    public init(region: Region, conn: RedisConnection? = nil) throws {
        self.conn = try conn ?? TestEnv.connection()
        key = region.keys.updates
    }

    /// The fields of a valid put of `id` (default `m<seq>`).
    public func valid(_ seq: UInt64, id: String? = nil, version: Int64 = 1, body: String = "{}") throws -> [(String, [UInt8])] {
        StreamEntryCodec.encode(
            ContextUpdate(
                seq: seq, id: try ContextID(id ?? "m\(seq)"), version: version, op: .put, body: Array(body.utf8),
                hubTimeUs: WallClock.nowUs()))
    }

    /// XADDs `fields` at the hub's id for `seq`.
    public func add(_ seq: UInt64, _ fields: [(String, [UInt8])]) throws {
        try conn.xadd(key: key, id: "\(seq)-0", fields: fields)
    }
}
