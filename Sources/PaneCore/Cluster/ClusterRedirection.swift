/// What a cluster node's error reply asks the client to do
/// (https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#redirection-and-resharding).
public enum ClusterRedirection: Sendable, Hashable {
    /// `MOVED slot host:port`: the slot lives on another node now; update the map and retry there.
    case moved(slot: Int, node: ClusterNode)
    /// `ASK slot host:port`: during a migration this key is on the target; send `ASKING` and the
    /// command there once, and keep the map.
    case ask(slot: Int, node: ClusterNode)
    /// `CLUSTERDOWN …` or `TRYAGAIN …`: the cluster cannot serve the slot right now (a failover,
    /// a multi-key command during a migration); refresh the map and retry after a backoff.
    case retryLater(reason: String)

    /// Reads an error reply; `nil` when it is not a redirection (an ordinary error).
    /// `answeredBy` fills in the host when the reply leaves it empty (`MOVED 1 :6380`).
    public init?(errorReply: String, answeredBy: ClusterNode? = nil) {
        let parts = errorReply.split(separator: " ", omittingEmptySubsequences: true)
        guard let first = parts.first else { return nil }
        switch first {
        case "MOVED", "ASK":
            guard parts.count >= 3, let slot = Int(parts[1]), (0..<ClusterSlot.count).contains(slot),
                var node = ClusterNode(address: parts[2])
            else { return nil }
            if node.host.isEmpty {
                guard let answeredBy else { return nil }
                node.host = answeredBy.host
            }
            self = first == "MOVED" ? .moved(slot: slot, node: node) : .ask(slot: slot, node: node)
        case "CLUSTERDOWN", "TRYAGAIN":
            self = .retryLater(reason: errorReply)
        default:
            return nil
        }
    }
}
