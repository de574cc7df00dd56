import PaneCore

/// The convergence check: every replica must hold exactly the hub's ids, versions and
/// tombstones for its region. Pure, so it is tested without processes.
public enum Verdict {
    /// The differences between the hub's state of a region and one replica's state, sorted by id.
    ///
    /// Contexts in `deadLettered` are accounted for (the dead-letter path heals them by resync)
    /// and are not reported.
    public static func differences(
        hub: [ContextID: VersionState], replica: [ContextID: VersionState], label: String,
        deadLettered: Set<ContextID> = []
    ) -> [Difference] {
        var result: [Difference] = []
        for (id, state) in hub where replica[id] != state && !deadLettered.contains(id) {
            result.append(Difference(replica: label, id: id.value, hub: state.description, found: replica[id]?.description))
        }
        for (id, state) in replica where hub[id] == nil && !deadLettered.contains(id) {
            result.append(Difference(replica: label, id: id.value, hub: nil, found: state.description))
        }
        return result.sorted { $0.id < $1.id }
    }
}
