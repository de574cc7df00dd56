/// The faults a scenario can schedule.
public enum FaultKind: String, Sendable, Codable, CaseIterable {
    /// `kill -9` one spoke worker chosen at random, restart it with the same consumer name.
    case killWorker
    /// Stop redis-server (SIGTERM: AOF is flushed), then start it again on the same port and folder.
    case restartRedis
    /// XADD malformed entries to a region stream at `<top>-1`, an id that never lifts the top
    /// above the hub's next `<seq>-0`, so the hub is never blocked.
    case poison
    /// Stop one replica's workers, trim its region stream past them, restart them. The replica
    /// misses entries: converging needs resync, which is a later issue.
    case trimStream
    /// Stop the hub for `seconds` while the spokes keep serving reads; reads are checked.
    case stopHub
    /// Redis Cluster only: `kill -9` the master that holds one region's slot, and wait (at most
    /// `seconds`) until its replica is promoted, the region's replicas apply an entry the hub
    /// committed after the death, and their watermarks pass the hub's seq at the death (the
    /// entries the dead master acknowledged but never replicated are repaired by resync).
    case killMaster
    /// Redis Cluster only: move one region's slot to another master while writes flow (keys
    /// migrated under `MIGRATING`/`IMPORTING`, so clients meet `ASK`, then `MOVED`).
    case reshard

    /// Faults that need a Redis Cluster (`redisCluster` in the scenario).
    public var needsCluster: Bool { self == .killMaster || self == .reshard }
}
