import PaneCore
import PaneLoadtest
import PaneStore

/// Whether a replica ended equal to the hub's state of its region; its description names the
/// differences when it did not.
public struct Convergence: Sendable, CustomStringConvertible {
    public let converged: Bool
    public let description: String

    /// Waits up to `seconds` until the replica file at `db` holds exactly `hub`'s state of
    /// `region` (as it is when the wait starts). Throws at once when one of `alive` has exited.
    public static func wait(
        hub: HubStore, region: Region, db: String, alive: [SpokeProcess], seconds: Double = 120
    ) async throws -> Convergence {
        let expected = try hub.state(of: region)
        let replica = try ReplicaStore(path: db)
        let converged = try await eventually(seconds, poll: 0.25) {
            if let dead = alive.first(where: { !$0.child.isRunning }) {
                throw TestFailure("a spoke exited: \(dead.log().suffix(800))")
            }
            return try replica.state() == expected
        }
        if converged { return Convergence(converged: true, description: "\(db) converged") }
        let now = (try? hub.state(of: region)) ?? expected
        return Convergence(converged: false, description: "\(db): \(difference(now, try replica.state()))")
    }

    /// A readable difference between two states, for failure messages: the count and the first ten.
    public static func difference(_ expected: [ContextID: VersionState], _ actual: [ContextID: VersionState]) -> String {
        let differences = Verdict.differences(hub: expected, replica: actual, label: "replica")
        return "\(differences.count) differences: " + differences.prefix(10).map(\.description).joined(separator: "; ")
    }
}
