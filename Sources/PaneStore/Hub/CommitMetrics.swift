import Dispatch
import Metrics

/// What the hub's writer records for every transaction that commits client writes (a group
/// commit or a batch): `pane_hub_commits_total`, `pane_hub_committed_writes_total` and
/// `pane_hub_commit_duration_seconds`. Made once per store: making a swift-metrics handle asks
/// the registry for it, which costs more than recording into it.
struct CommitMetrics: Sendable {
    let commits = Counter(label: "pane_hub_commits_total")
    let writes = Counter(label: "pane_hub_committed_writes_total")
    let duration = Timer(label: "pane_hub_commit_duration_seconds")

    /// Now, in the clock ``record(writes:since:)`` measures with.
    static func start() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// One commit of `count` writes that started at `start` (``start()``); nothing when no write
    /// was committed (every write of the group refused).
    func record(writes count: Int, since start: UInt64) {
        guard count > 0 else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        commits.increment()
        writes.increment(by: count)
        duration.recordNanoseconds(Int64(clamping: now &- start))
    }
}
