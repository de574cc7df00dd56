import Metrics

/// The metrics the worker records for every batch, made once per run: making a swift-metrics
/// handle asks the registry for it (a lock, the catalog's help text, the labels), which cost
/// more than recording into it, once per batch.
struct ApplyMetrics: Sendable {
    /// `pane_spoke_applied_total`
    let applied: Counter
    /// `pane_spoke_replayed_entries_total`
    let replayed: Counter
    /// `pane_spoke_read_top_ups_total`
    let topUps: Counter
    /// `pane_spoke_replication_lag_seconds`
    let lag: Timer
    /// `pane_spoke_apply_duration_seconds`
    let applyDuration: Timer

    init(labels: [(String, String)]) {
        applied = Counter(label: "pane_spoke_applied_total", dimensions: labels)
        replayed = Counter(label: "pane_spoke_replayed_entries_total", dimensions: labels)
        topUps = Counter(label: "pane_spoke_read_top_ups_total", dimensions: labels)
        lag = Timer(label: "pane_spoke_replication_lag_seconds", dimensions: labels)
        applyDuration = Timer(label: "pane_spoke_apply_duration_seconds", dimensions: labels)
    }
}
