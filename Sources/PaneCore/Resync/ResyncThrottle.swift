/// How the hub limits the snapshots it builds for one region. Anyone who can write to Redis can
/// XADD resync requests, and each one served costs a snapshot of the region, so:
///
/// - **one pending resync per replica**: after a snapshot for a replica (or, for requests that
///   name no replica, for every replica: key `*`), further requests for it wait until the
///   replica's heartbeat lists one of the served request ids as done, or ``Settings/pendingTimeoutMs``
///   has passed (the replica's own request timeout, `spoke.resyncTimeoutMs`, is 60 s too);
/// - **at most ``Settings/maxSnapshotsPerMinute`` snapshots per region** in any 60 s.
///
/// A replica whose heartbeat says it waits for a request that the pending snapshot did not
/// answer (that snapshot answered requests someone else sent in its name, which the replica
/// refuses) is no longer held back: its pending resync is cleared, and if the throttle no
/// longer holds that request (a flood in the replica's name pushed it out, or the hub
/// restarted), a full resync answering it is served in its place ("rescued").
///
/// Requests that must wait are kept, the latest ``Settings/maxWaitingPerReplica`` per replica,
/// for up to ``Settings/maxWaiting`` replicas; more are dropped. Waiting requests are served, coalesced,
/// as soon as the limits allow. Pure: the hub's resync worker feeds it requests, heartbeats and
/// the time, and serves what it returns.
public struct ResyncThrottle: Sendable {
    public struct Settings: Sendable, Equatable {
        /// Snapshots per region in any 60 s (`hub.maxSnapshotsPerMinute`).
        public var maxSnapshotsPerMinute: Int = 20
        /// A served resync the replica has not reported done no longer holds back its next
        /// request after this long.
        public var pendingTimeoutMs: Int64 = 60_000
        /// Replicas with a waiting request, at most.
        public var maxWaiting: Int = 1_000
        /// Waiting requests kept per replica: the latest ones.
        public var maxWaitingPerReplica: Int = 8

        public init(maxSnapshotsPerMinute: Int = 20, pendingTimeoutMs: Int64 = 60_000, maxWaiting: Int = 1_000, maxWaitingPerReplica: Int = 8) {
            self.maxSnapshotsPerMinute = maxSnapshotsPerMinute
            self.pendingTimeoutMs = pendingTimeoutMs
            self.maxWaiting = maxWaiting
            self.maxWaitingPerReplica = maxWaitingPerReplica
        }
    }

    /// What to do now.
    public struct Admission: Sendable, Equatable {
        /// Serve these with one snapshot (empty: nothing to serve now).
        public var serve: [ResyncRequest] = []
        /// Requests that wait, and why (for the log).
        public var waiting: Int = 0
        /// How many of the requests just taken wait (not served, not dropped).
        public var held: Int = 0
        public var waitReason: String?
        /// Requests dropped: too many replicas wait already, or a later request of the same
        /// replica took the place of an older one.
        public var dropped: [ResyncRequest] = []
    }

    /// The key a request is throttled under: its replica, or `*` for every replica.
    public static func replicaKey(_ request: ResyncRequest) -> String { request.replica ?? "*" }

    public let settings: Settings
    /// Times of the snapshots served in the last minute.
    private var served: [Int64] = []
    /// Per replica key: the request ids of its pending snapshot and when it was served.
    private var pending: [String: (ids: Set<String>, sinceMs: Int64)] = [:]
    /// Per replica key: the requests that wait, oldest first.
    private var waiting: [String: [ResyncRequest]] = [:]
    /// Per replica: a request its heartbeat says it waits for that nothing here held; served
    /// first, never pushed out.
    private var rescued: [String: ResyncRequest] = [:]

    public init(settings: Settings = Settings()) { self.settings = settings }

    /// The replicas whose heartbeats the hub should read before ``admit(_:done:nowMs:)``: those
    /// with a pending resync (not `*`).
    public var pendingReplicas: [String] { pending.keys.filter { $0 != "*" }.sorted() }

    /// Whether a resync for every replica (a request that named none) is pending: then every
    /// replica's heartbeat may report it done.
    public var pendingForEveryReplica: Bool { pending["*"] != nil }

    /// Whether requests wait to be served.
    public var hasWaiting: Bool { !waiting.isEmpty || !rescued.isEmpty }

    /// Takes `requests` (just read), clears the pending resyncs the replicas report done in
    /// `done` (replica → request ids its heartbeat lists as done) or no longer wait for
    /// (`waitingFor`: replica → the request its heartbeat says it waits for), and returns what to
    /// serve now. What it returns to serve counts as served at `nowMs`.
    public mutating func admit(
        _ requests: [ResyncRequest], done: [String: [String]], waitingFor: [String: String] = [:], nowMs: Int64
    ) -> Admission {
        var admission = decide(requests, done: done, waitingFor: waitingFor, nowMs: nowMs)
        if !requests.isEmpty {
            let waitingIDs = Set(waiting.values.joined().map(\.requestID))
            admission.held = requests.filter { waitingIDs.contains($0.requestID) }.count
        }
        return admission
    }

    private mutating func decide(_ requests: [ResyncRequest], done: [String: [String]], waitingFor: [String: String], nowMs: Int64) -> Admission {
        var admission = Admission()
        for request in requests {
            let key = Self.replicaKey(request)
            if var queued = waiting[key] {
                queued.append(request)
                if queued.count > settings.maxWaitingPerReplica { admission.dropped.append(queued.removeFirst()) }
                waiting[key] = queued
            } else if waiting.count < settings.maxWaiting {
                waiting[key] = [request]
            } else {
                admission.dropped.append(request)
            }
        }
        clearPending(done: done, waitingFor: waitingFor, nowMs: nowMs)
        guard hasWaiting else { return admission }
        served.removeAll { nowMs - $0 >= 60_000 }
        guard served.count < settings.maxSnapshotsPerMinute else {
            admission.waiting = waiting.values.reduce(0) { $0 + $1.count } + rescued.count
            admission.waitReason = "\(served.count) snapshots of the region in the last minute (hub.maxSnapshotsPerMinute \(settings.maxSnapshotsPerMinute))"
            return admission
        }
        let ready = Set(waiting.keys).union(rescued.keys).filter { pending[$0] == nil }.sorted()
        admission.waiting = waiting.filter { pending[$0.key] != nil }.reduce(0) { $0 + $1.value.count }
            + rescued.keys.filter { pending[$0] != nil }.count
        if admission.waiting > 0 { admission.waitReason = "a resync is pending for the replica" }
        guard !ready.isEmpty else { return admission }
        admission.serve = ready.flatMap { key in
            [rescued.removeValue(forKey: key)].compactMap { $0 } + (waiting.removeValue(forKey: key) ?? [])
        }
        record(admission.serve, nowMs: nowMs)
        return admission
    }

    /// For a request the hub makes itself (anti-entropy): `nil` when it may be served now (it
    /// then counts as served), otherwise why not. Nothing is kept: the hub asks again later.
    public mutating func admitNow(
        _ request: ResyncRequest, done: [String: [String]], waitingFor: [String: String] = [:], nowMs: Int64
    ) -> String? {
        clearPending(done: done, waitingFor: waitingFor, nowMs: nowMs)
        served.removeAll { nowMs - $0 >= 60_000 }
        if served.count >= settings.maxSnapshotsPerMinute {
            return "\(served.count) snapshots of the region in the last minute (hub.maxSnapshotsPerMinute \(settings.maxSnapshotsPerMinute))"
        }
        if pending[Self.replicaKey(request)] != nil { return "a resync is pending for the replica" }
        record([request], nowMs: nowMs)
        return nil
    }

    private mutating func record(_ requests: [ResyncRequest], nowMs: Int64) {
        guard !requests.isEmpty else { return }
        served.append(nowMs)
        for request in requests { pending[Self.replicaKey(request), default: ([], nowMs)].ids.insert(request.requestID) }
    }

    private mutating func clearPending(done: [String: [String]], waitingFor: [String: String], nowMs: Int64) {
        let allDone = Set(done.values.joined())
        for (key, entry) in pending {
            let finished = key == "*" ? !entry.ids.isDisjoint(with: allDone) : !entry.ids.isDisjoint(with: done[key] ?? [])
            if finished || nowMs - entry.sinceMs >= settings.pendingTimeoutMs { pending[key] = nil }
        }
        for (key, id) in waitingFor where key != "*" {
            guard let entry = pending[key], !entry.ids.contains(id) else { continue }
            // The pending snapshot did not answer what the replica waits for.
            pending[key] = nil
            let held = (waiting[key] ?? []).contains { $0.requestID == id } || rescued[key]?.requestID == id
            if !held { rescued[key] = ResyncRequest(requestID: id, replica: key, reason: "rescued", buckets: nil) }
        }
    }
}
