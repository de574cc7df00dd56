import PaneCore

/// Redis key names, all hash-tagged by region so that one region lives on one Cluster slot.
public enum Keys {
    /// `pane:{R}:updates`, the region stream.
    public static func updates(_ region: Region) -> String { "pane:{\(region.name)}:updates" }
    /// `pane:{R}:dlq`, the region's dead letters.
    public static func deadLetters(_ region: Region) -> String { "pane:{\(region.name)}:dlq" }
    /// `pane:{R}:replicas`, replica heartbeats.
    public static func replicas(_ region: Region) -> String { "pane:{\(region.name)}:replicas" }
    /// `pane:{R}:resync`, resync requests from the region's replicas (and admins) to the hub.
    public static func resyncRequests(_ region: Region) -> String { "pane:{\(region.name)}:resync" }
    /// `pane:{R}:snapshot:<epoch>`, a resync snapshot: a list of chunks, with an expiry.
    public static func snapshot(_ region: Region, epoch: Int64) -> String { "pane:{\(region.name)}:snapshot:\(epoch)" }
    /// The hub's consumer group on `pane:{R}:resync`.
    public static let hubGroup = "hub"
}
