/// Every metric Pane exports, with its `# HELP` text: the one list the metrics backend takes
/// its help texts from, the tests check a real scrape against, and docs/operations.md
/// ("Metrics") describes. A metric made by label that is not here is exported without `# HELP`,
/// and the metrics test fails.
public enum MetricCatalog {
    static let regionReplica = ["region", "replica"]
    static let http = ["route", "method", "status"]

    /// The catalog, hub metrics first, then the spoke's, then those of every process.
    public static let all: [MetricInfo] = hub + spoke + shared

    static let hub: [MetricInfo] = [
        MetricInfo("pane_hub_published_total", .counter, .hub, labels: ["region"], help: "Entries confirmed in the region stream."),
        MetricInfo("pane_hub_commits_total", .counter, .hub, labels: [], help: "Transactions that committed client writes (group commits and batches)."),
        MetricInfo(
            "pane_hub_committed_writes_total", .counter, .hub, labels: [],
            help: "Writes those transactions committed (each operation of a batch counts); per commit, the group's size."),
        MetricInfo(
            "pane_hub_commit_duration_seconds", .histogram, .hub, labels: [],
            help: "How long one such transaction takes on the writer, from its first statement to its durable commit.",
            bucketsSeconds: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]),
        MetricInfo(
            "pane_hub_republish_skipped_total", .counter, .hub, labels: ["region"],
            help: "Re-sent entries that were already in the stream (after a hub crash); not duplicated."),
        MetricInfo(
            "pane_hub_publish_conflicts_total", .counter, .hub, labels: ["region"],
            help: "Refused XADDs where the entry in the stream was not the hub's (a foreign writer)."),
        MetricInfo(
            "pane_hub_groups_moved_back_total", .counter, .hub, labels: ["region"],
            help: "Consumer groups moved back to the stream's top after a foreign entry."),
        MetricInfo(
            "pane_hub_seqs_skipped_total", .counter, .hub, labels: ["region"],
            help: "Seqs the hub could not place because a foreign entry took their id; replicas resync them."),
        MetricInfo(
            "pane_hub_publish_errors_total", .counter, .hub, labels: ["redis"],
            help: "Publish rounds that failed (Redis unreachable, a timeout, an error reply)."),
        MetricInfo("pane_hub_resync_requests_total", .counter, .hub, labels: ["region"], help: "Resync requests served."),
        MetricInfo("pane_hub_resync_malformed_total", .counter, .hub, labels: ["region"], help: "Malformed resync requests, acked and ignored."),
        MetricInfo(
            "pane_hub_resync_throttled_total", .counter, .hub, labels: ["region"],
            help: "Resync requests the throttle held back (served later)."),
        MetricInfo("pane_hub_resync_dropped_total", .counter, .hub, labels: ["region"], help: "Resync requests dropped by the throttle (a flood)."),
        MetricInfo("pane_hub_snapshots_total", .counter, .hub, labels: ["region"], help: "Resync snapshots written to Redis."),
        MetricInfo("pane_hub_snapshot_rows_total", .counter, .hub, labels: ["region"], help: "Rows in the resync snapshots written to Redis."),
        MetricInfo("pane_hub_snapshot_bytes_total", .counter, .hub, labels: ["region"], help: "Bytes of the resync snapshots written to Redis."),
        MetricInfo("pane_hub_digest_comparisons_total", .counter, .hub, labels: ["region"], help: "Anti-entropy digest comparisons."),
        MetricInfo(
            "pane_hub_digest_mismatches_total", .counter, .hub, labels: ["region"],
            help: "Anti-entropy digest comparisons that found differing buckets."),
        MetricInfo(
            "pane_hub_digest_mismatch_buckets", .gauge, .hub, labels: regionReplica,
            help: "Buckets that differed in the replica's last digest comparison."),
        MetricInfo("pane_hub_trimmed_entries_total", .counter, .hub, labels: ["region"], help: "Region stream entries trimmed by retention."),
        MetricInfo(
            "pane_hub_retention_left_behind_total", .counter, .hub, labels: ["region"],
            help: "Trims that went past a live replica's watermark (a retention cap); the replica resyncs."),
        MetricInfo(
            "pane_hub_stream_lost_total", .counter, .hub, labels: ["region"],
            help: "Times a region stream was found missing or below the published seq (Redis lost data)."),
        MetricInfo("pane_hub_last_seq", .gauge, .hub, labels: ["region"], help: "The hub's last allocated seq for the region."),
        MetricInfo("pane_hub_published_seq", .gauge, .hub, labels: ["region"], help: "The last seq confirmed in the region stream."),
        MetricInfo(
            "pane_hub_outbox_backlog", .gauge, .hub, labels: ["region"],
            help: "Seqs written at the hub and not yet confirmed in the region stream."),
        MetricInfo("pane_hub_dead_letters", .gauge, .hub, labels: ["region"], help: "Entries in the region's dead-letter stream."),
        MetricInfo(
            "pane_hub_oldest_dead_letter_age_seconds", .gauge, .hub, labels: ["region"],
            help: "Age of the region's oldest dead letter (0 when there is none)."),
        MetricInfo(
            "pane_hub_replica_heartbeat_age_seconds", .gauge, .hub, labels: regionReplica,
            help: "Time since the replica's last heartbeat, as the hub reads it from Redis."),
        MetricInfo(
            "pane_hub_replica_lag_seqs", .gauge, .hub, labels: regionReplica,
            help: "Hub seqs above the replica's watermark, from its last heartbeat."),
        MetricInfo(
            "pane_hub_replica_lag_seconds", .gauge, .hub, labels: regionReplica,
            help: "How long the oldest entry above the replica's watermark has waited since the hub committed it (0 when none waits)."),
        MetricInfo(
            "pane_hub_replica_resyncing", .gauge, .hub, labels: regionReplica,
            help: "1 while the replica's heartbeat reports a resync requested or being applied."),
    ]

    static let spoke: [MetricInfo] = [
        MetricInfo(
            "pane_spoke_applied_total", .counter, .spoke, labels: regionReplica,
            help: "Entries committed, including duplicates and older versions the apply rule ignored."),
        MetricInfo(
            "pane_spoke_replication_lag_seconds", .histogram, .spoke, labels: regionReplica,
            help: "Time from the hub's commit to the replica's commit of each applied entry (two wall clocks)."),
        MetricInfo(
            "pane_spoke_apply_duration_seconds", .histogram, .spoke, labels: regionReplica,
            help: "Time to apply and commit one batch of entries to the replica's SQLite file.",
            bucketsSeconds: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]),
        MetricInfo("pane_spoke_retries_total", .counter, .spoke, labels: regionReplica, help: "Transient failures left pending for a retry."),
        MetricInfo(
            "pane_spoke_dead_letters_total", .counter, .spoke, labels: regionReplica + ["kind"],
            help: "Entries dead-lettered (kind is permanent or transient)."),
        MetricInfo("pane_spoke_dead_letters_trimmed_total", .counter, .spoke, labels: ["region"], help: "Dead letters removed by trimming."),
        MetricInfo("pane_spoke_claimed_total", .counter, .spoke, labels: regionReplica, help: "Entries taken over from other consumers."),
        MetricInfo("pane_spoke_gaps_total", .counter, .spoke, labels: regionReplica, help: "Pending entries that had been trimmed from the stream."),
        MetricInfo(
            "pane_spoke_resync_requests_total", .counter, .spoke, labels: regionReplica + ["reason"],
            help: "Resync requests this worker sent, by reason."),
        MetricInfo("pane_spoke_snapshots_applied_total", .counter, .spoke, labels: regionReplica, help: "Resync snapshots this worker applied."),
        MetricInfo("pane_spoke_snapshot_rows_total", .counter, .spoke, labels: regionReplica, help: "Rows of the snapshots this worker applied."),
        MetricInfo(
            "pane_spoke_snapshots_abandoned_total", .counter, .spoke, labels: regionReplica,
            help: "Snapshots given up because they expired or could not be read; the replica asks again."),
        MetricInfo(
            "pane_spoke_snapshots_refused_total", .counter, .spoke, labels: regionReplica,
            help: "Snapshot announcements the snapshot guard refused (dead-lettered)."),
        MetricInfo(
            "pane_spoke_resync_duration_seconds", .histogram, .spoke, labels: regionReplica,
            help: "Time to apply one resync snapshot, from its first chunk to its commit.",
            bucketsSeconds: [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]),
        MetricInfo(
            "pane_spoke_watermark", .gauge, .spoke, labels: regionReplica,
            help: "The replica's watermark: every seq at or below it is applied."),
        MetricInfo("pane_spoke_hub_seq", .gauge, .spoke, labels: regionReplica, help: "The hub's seq for the region, as this worker last read it."),
        MetricInfo("pane_spoke_lag_seqs", .gauge, .spoke, labels: regionReplica, help: "Seqs the replica is behind the hub's seq."),
        MetricInfo("pane_spoke_stale_contexts", .gauge, .spoke, labels: regionReplica, help: "Contexts marked stale by a dead-lettered update."),
        MetricInfo(
            "pane_spoke_replayed_entries_total", .counter, .spoke, labels: regionReplica,
            help: "Re-sent entries (republish, dead-letter replay) applied; not counted as replication lag."),
        MetricInfo(
            "pane_spoke_read_top_ups_total", .counter, .spoke, labels: regionReplica,
            help: "Reads sent without blocking to complete a batch the hub's seq said was cut short, before applying it."),
        MetricInfo("pane_spoke_watchers", .gauge, .spoke, labels: regionReplica, help: "Open GET /v1/watch streams on this worker."),
        MetricInfo(
            "pane_spoke_watch_cutoffs_total", .counter, .spoke, labels: regionReplica,
            help: "Watchers cut off because a write to them waited spoke.watchWriteTimeoutMs."),
        MetricInfo(
            "pane_spoke_watch_refused_total", .counter, .spoke, labels: regionReplica,
            help: "Watches refused with 503: spoke.maxWatchers open already, or the spoke stopping."),
    ]

    static let shared: [MetricInfo] = [
        MetricInfo("pane_build_info", .gauge, .both, labels: ["version", "role"], help: "Always 1; the labels say which version runs."),
        MetricInfo(
            "pane_redis_evicts", .gauge, .both, labels: ["redis"],
            help: "1 when the Redis's maxmemory-policy may evict Pane's keys (checked every minute)."),
        MetricInfo("pane_redis_used_memory_bytes", .gauge, .hub, labels: ["redis"], help: "The Redis's used_memory (INFO memory)."),
        MetricInfo("pane_redis_maxmemory_bytes", .gauge, .hub, labels: ["redis"], help: "The Redis's maxmemory (INFO memory); 0 means no limit."),
        MetricInfo(
            "pane_http_requests_total", .counter, .both, labels: http,
            help: "HTTP requests answered, by route pattern, method and status."),
        MetricInfo(
            "pane_http_request_duration_seconds", .histogram, .both, labels: http,
            help: "Time from a request's arrival to the end of its answer, by route pattern, method and status.",
            bucketsSeconds: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]),
        MetricInfo(
            "pane_http_request_errors_total", .counter, .both, labels: ["route", "method", "status"],
            help: "HTTP requests whose handler threw (answered with the error's status)."),
        MetricInfo("pane_http_active_requests", .gauge, .both, labels: ["method"], help: "HTTP requests in progress."),
        MetricInfo("pane_http_connections", .gauge, .both, labels: ["server"], help: "HTTP connections open (capped by http.maxConnections)."),
        MetricInfo(
            "pane_http_connections_refused_total", .counter, .both, labels: ["server"],
            help: "HTTP connections answered 503 and closed because http.maxConnections were open."),
        MetricInfo(
            "pane_http_request_read_timeouts_total", .counter, .both, labels: ["server"],
            help: "HTTP connections closed because a request was not read whole within http.requestReadTimeoutMs."),
        MetricInfo("process_cpu_seconds_total", .counter, .both, labels: [], help: "User and system CPU time spent, seconds."),
        MetricInfo("process_resident_memory_bytes", .gauge, .both, labels: [], help: "Resident memory size, bytes."),
        MetricInfo("process_virtual_memory_bytes", .gauge, .both, labels: [], help: "Virtual memory size, bytes."),
        MetricInfo("process_open_fds", .gauge, .both, labels: [], help: "Open file descriptors."),
        MetricInfo("process_max_fds", .gauge, .both, labels: [], help: "The limit on open file descriptors."),
        MetricInfo("process_start_time_seconds", .gauge, .both, labels: [], help: "When the process started, seconds since the Unix epoch."),
    ]

    /// The counters `source` exports with exactly `labels`: the ones a process creates at 0
    /// when it starts, for every label value it knows, so that a `rate()` or `increase()` sees
    /// their first increment.
    public static func counters(_ source: MetricInfo.Source, labels: [String]) -> [String] {
        all.filter { $0.source == source && $0.kind == .counter && $0.labels == labels }.map(\.name)
    }

    private static let byName: [String: MetricInfo] = Dictionary(all.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })

    /// The entry for a Prometheus metric name; nil when Pane does not define it.
    public static func info(named name: String) -> MetricInfo? { byName[name] }

    /// Names Hummingbird's `MetricsMiddleware` uses, and the Prometheus names Pane exports them
    /// under (with the `_total`/`_seconds` suffixes and short labels).
    public static let renamed: [String: String] = [
        "hb.requests": "pane_http_requests_total",
        "http.server.request.duration": "pane_http_request_duration_seconds",
        "hb.request.errors": "pane_http_request_errors_total",
        "http.server.active_requests": "pane_http_active_requests",
    ]

    /// Label names of Hummingbird's `MetricsMiddleware`, and Pane's.
    public static let renamedLabels: [String: String] = [
        "http.route": "route",
        "http.request.method": "method",
        "http.response.status_code": "status",
        "error.type": "status",
    ]
}
