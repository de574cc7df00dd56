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
        guard let hub = status.hubID else { return nil }
        if let cached = encoded.withLock({ $0 }), cached.hub == hub, cached.watermark == watermark { return cached.token }
        let token = PositionToken(hub: hub, positions: [region: watermark]).encoded
        encoded.withLock { $0 = (hub, watermark, token) }
        return token
    }

    /// The answer's `Pane-Index` and `Pane-Source: replica`, added to `headers`.
    func position(_ headers: inout HTTPFields, watermark: UInt64) {
        if let token = token(watermark: watermark) { headers[.paneIndex] = token }
        headers[.paneSource] = "replica"
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
