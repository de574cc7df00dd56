import Foundation

/// What a replica publishes in `pane:{R}:replicas`, field `<replica>`, about once a second.
public struct ReplicaHeartbeat: Codable, Sendable, Equatable {
    public var replica: String
    public var consumer: String
    public var watermark: UInt64
    public var highest: UInt64
    public var timeMs: Int64
    /// Set while the replica waits for, or applies, a snapshot.
    public var resync: ResyncProgress?
    /// Request ids of the last resyncs this replica finished, newest last (a few).
    public var resyncsDone: [String]

    public init(replica: String, consumer: String, watermark: UInt64, highest: UInt64, timeMs: Int64, resync: ResyncProgress?, resyncsDone: [String]) {
        self.replica = replica
        self.consumer = consumer
        self.watermark = watermark
        self.highest = highest
        self.timeMs = timeMs
        self.resync = resync
        self.resyncsDone = resyncsDone
    }
}

/// A resync in progress, as a replica reports it.
public struct ResyncProgress: Codable, Sendable, Equatable {
    public var reason: String
    /// `requested` (waiting for the hub) or `applying`.
    public var state: String
    public var requestedAtMs: Int64
    public var chunksDone: Int
    public var chunks: Int
    public var bootstrapping: Bool
    /// The request the replica waits for (absent in heartbeats of older spokes): the hub's
    /// throttle serves it even while a snapshot served in the replica's name is pending
    /// (``ResyncThrottle``).
    public var requestID: String?

    public init(
        reason: String, state: String, requestedAtMs: Int64, chunksDone: Int, chunks: Int, bootstrapping: Bool, requestID: String? = nil
    ) {
        self.reason = reason
        self.state = state
        self.requestedAtMs = requestedAtMs
        self.chunksDone = chunksDone
        self.chunks = chunks
        self.bootstrapping = bootstrapping
        self.requestID = requestID
    }

    /// The request the replica waits for the hub to answer: set while `requested`.
    public var waitingFor: String? { state == "requested" ? requestID : nil }
}
