import Hummingbird
import PaneCore
import PaneHTTP
import PaneRuntime
import PaneStore
import Synchronization

/// Reads a context from the hub, for `consistency=hub` and `fallback=hub`
/// (``SpokeConfiguration/hubURL``). The executable provides it; the spoke module speaks no
/// HTTP client of its own.
public protocol HubReading: Sendable {
    /// `GET path` at the hub, with the spoke's token for the hub.
    func get(_ path: String) async throws -> HubAnswer
}

/// The hub's answer, passed on to the reader.
public struct HubAnswer: Sendable {
    public let status: Int
    public let etag: String?
    public let body: [UInt8]

    public init(status: Int, etag: String?, body: [UInt8]) {
        self.status = status
        self.etag = etag
        self.body = body
    }
}

/// What the read routes need beyond the store: the region, the wait cap, the signal of the
/// replica's changes, the hub (if configured) and this spoke's position token, kept encoded.
public final class SpokeReads: Sendable {
    public let region: Region
    public let maxWaitMs: Int
    public let changes: ChangeSignal
    let hub: (any HubReading)?
    let status: SpokeStatus
    private let encoded = Mutex<(hub: String, watermark: UInt64, token: String)?>(nil)
    private let headerCache = Mutex<(key: HeaderKey, fields: HTTPFields)?>(nil)

    /// What ``headers(watermark:)`` says; its fields are built again only when one changes.
    struct HeaderKey: Equatable {
        var maxSeq: UInt64
        var contactAgeMs: Int64?
        var hubID: String?
        var watermark: UInt64
    }

    public init(region: Region, maxWaitMs: Int, changes: ChangeSignal, hub: (any HubReading)?, status: SpokeStatus) {
        self.region = region
        self.maxWaitMs = maxWaitMs
        self.changes = changes
        self.hub = hub
        self.status = status
    }

    /// The replica's position as a token (`Pane-Index`), or nil while the spoke has not learned
    /// its hub's identity (it reads it with its first heartbeat).
    func token(watermark: UInt64) -> String? {
        token(hub: status.hubID, watermark: watermark)
    }

    private func token(hub: String?, watermark: UInt64) -> String? {
        guard let hub else { return nil }
        if let cached = encoded.withLock({ $0 }), cached.hub == hub, cached.watermark == watermark { return cached.token }
        let token = PositionToken(hub: hub, positions: [region: watermark]).encoded
        encoded.withLock { $0 = (hub, watermark, token) }
        return token
    }

    /// The headers of every answer from the replica, in this order: `Pane-Replica-Seq` (the
    /// highest region seq the worker applied), `Pane-Contact-Age-Ms` (since the worker last heard
    /// from the stream, or `never`), `Pane-Index` (the replica's position, once the hub's identity
    /// is known) and `Pane-Source: replica`.
    ///
    /// Built once per change of what they say (a new seq, watermark or hub, the next millisecond
    /// of contact age) and then copied: a point read spent more on building these four fields
    /// than on its SQLite read.
    func headers(watermark: UInt64) -> HTTPFields {
        headers(for: headerKey(watermark: watermark))
    }

    /// What ``headers(watermark:)`` says now, to compare with what an answer last said.
    func headerKey(watermark: UInt64) -> HeaderKey {
        let now = status.freshness
        return HeaderKey(maxSeq: now.maxSeq, contactAgeMs: now.contactAgeMs, hubID: now.hubID, watermark: watermark)
    }

    /// The headers that say `key`.
    func headers(for key: HeaderKey) -> HTTPFields {
        if let cached = headerCache.withLock({ $0 }), cached.key == key { return cached.fields }
        var fields = HTTPFields()
        fields[.paneReplicaSeq] = String(key.maxSeq)
        fields[.paneContactAge] = key.contactAgeMs.map(String.init) ?? "never"
        if let token = token(hub: key.hubID, watermark: key.watermark) { fields[.paneIndex] = token }
        fields[.paneSource] = "replica"
        headerCache.withLock { $0 = (key, fields) }
        return fields
    }

    /// Waits, re-reading after each change of the replica's file, until `decide` says answer or
    /// the wait is over; returns the last read and whether its conditions were met.
    func awaitConditions<Read>(
        _ conditions: ReadConditions, read: () throws -> Read, decide: (Read) -> ReadVerdict
    ) async throws -> (read: Read, met: Bool) {
        var waitMs = conditions.waitMs
        if conditions.changedAfter != nil {
            var random = SystemRandomNumberGenerator()
            waitMs = WaitDuration.jittered(waitMs, using: &random)
        }
        let deadline = ContinuousClock.now + .milliseconds(waitMs)
        while true {
            let generation = changes.generation
            let current = try read()
            switch decide(current) {
            case .answer:
                return (current, true)
            case .otherHistory(let token, let replica):
                throw ValidationError(
                    input: "position token", value: token,
                    reason: "it is from another hub database's history (hub \(token)); this replica follows hub \(replica): take a new token from a write or a read")
            case .wait:
                if ContinuousClock.now >= deadline { return (current, false) }
                await changes.wait(past: generation, until: deadline)
            }
        }
    }

    /// `consistency=hub`, or `fallback=hub` after a wait that did not reach the position: the
    /// hub's answer, with `Pane-Source: hub`. Without `spoke.hubURL`, `501` naming the setting.
    func fromHub(_ path: String) async throws -> Response {
        guard let hub else {
            return PaneHTTP.error(.notImplemented, "this spoke does not know its hub: set spoke.hubURL (--hub-url) to read from the hub")
        }
        let answer: HubAnswer
        do {
            answer = try await hub.get(path)
        } catch {
            return PaneHTTP.error(.badGateway, "the hub did not answer: \(error)")
        }
        var headers: HTTPFields = [.paneSource: "hub"]
        if let etag = answer.etag { headers[.eTag] = etag }
        return PaneHTTP.json(answer.body, status: HTTPResponse.Status(code: answer.status), headers: headers)
    }
}
