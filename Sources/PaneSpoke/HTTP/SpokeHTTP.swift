import Hummingbird
import PaneCore
import PaneStore
import PaneHTTP

/// The spoke's read API, served from the replica's SQLite file; it never waits on Redis.
///
/// - `GET /v1/contexts/{id}` → `{"id","version","body","updatedAt"}` with `ETag: "<version>"`,
///   `304` on a matching `If-None-Match`, `404` for unknown or deleted ids.
/// - `GET /v1/contexts?prefix=&after=&limit=` → `{"items":[{"id","version"}],"next":…}`
/// - `GET /v1/watch?prefix=` → Server-Sent Events of the replica's changes (added by
///   ``Spoke/services(extraRoutes:)``; see `SpokeWatch`)
/// - `GET /healthz`, `GET /readyz`
///
/// Every context response carries `Pane-Replica-Seq` (the highest region seq the replica has
/// applied) and `Pane-Contact-Age-Ms` (how long since this worker last heard from the stream).
///
/// With `tokens`, every route but `/healthz` and `/readyz` needs a bearer token whose role
/// allows it (``AuthMiddleware``): `read` for the reads.
public enum SpokeHTTP {
    public static let maxPageSize = 1_000

    /// The router, and its point-read route for ``PaneHTTP/HTTPService``'s `segmentRoutes`.
    public static func router(
        store: ReplicaStore, status: SpokeStatus, reads: SpokeReads, tokens: TokenFileWatcher? = nil
    ) -> (router: Router<BasicRequestContext>, segmentRoutes: [SegmentRoute<BasicRequestContext>]) {
        let router = Router()
        // First, so requests refused by the token check are counted too (`pane_http_*` metrics).
        router.add(middleware: RequestMetricsMiddleware())
        if let tokens { router.add(middleware: AuthMiddleware(tokens: tokens)) }
        router.add(middleware: ValidationErrorMiddleware())
        router.get("/healthz") { _, _ in PaneHTTP.json("{\"status\":\"ok\"}") }
        router.get("/readyz") { _, _ -> Response in
            if status.isReady {
                if let reason = status.lagging {
                    return PaneHTTP.json(
                        "{\"status\":\"lagging\",\"lagMs\":\(status.lagMs),\"reason\":\(JSONText.quote(reason))}", status: .serviceUnavailable)
                }
                return PaneHTTP.json("{\"status\":\"ready\"}")
            }
            if status.isBootstrapping { return PaneHTTP.json("{\"status\":\"bootstrapping\"}", status: .serviceUnavailable) }
            return PaneHTTP.json("{\"status\":\"catching-up\"}", status: .serviceUnavailable)
        }
        let answers = PointReadCache(stamps: CommitStamps(path: store.path))
        let pointRead = router.getSegment("/v1/contexts/", parameter: "id") { request, context -> Response in
            let raw = context.parameters["id"] ?? ""
            // A plain read (no condition): from memory while the file has not changed.
            if request.uri.query == nil, request.headers[.paneMinIndex] == nil {
                return try answers.answer(raw: raw, read: store.read(id:)).response(request, reads: reads)
            }
            let id = try PaneHTTP.contextID(raw: raw)
            let conditions = try ReadConditions.parse(
                minIndexHeader: request.headers[.paneMinIndex], query: { PaneHTTP.query(request, $0) }, pointRead: true,
                maxWaitMs: reads.maxWaitMs)
            if conditions.isPlain { return try answers.answer(raw: raw, read: store.read(id:)).response(request, reads: reads) }
            if conditions.fromHub { return try await reads.fromHub(request.uri.path) }
            let (read, met) = try await reads.awaitConditions(conditions, read: { try store.read(id: id) }) { read in
                ReadVerdict.decide(
                    conditions, region: reads.region, hub: status.hubID, watermark: read.watermark, version: read.context?.version, seq: read.seq)
            }
            if met || ReadVerdict.atDeadline(conditions) { return PointAnswer(id: id, read: read).response(request, reads: reads) }
            if conditions.fallbackToHub { return try await reads.fromHub(request.uri.path) }
            return notReached(watermark: read.watermark, version: read.context?.version, status: status, reads: reads)
        }
        router.get("/v1/contexts") { request, _ -> Response in
            let prefix = PaneHTTP.query(request, "prefix") ?? ""
            let after = PaneHTTP.query(request, "after").flatMap { $0.isEmpty ? nil : $0 }
            var limit = 100
            if let text = PaneHTTP.query(request, "limit") {
                guard let value = Int(text), (1...maxPageSize).contains(value) else {
                    throw ValidationError(input: "limit", value: text, reason: "limit is an integer from 1 to \(maxPageSize)")
                }
                limit = value
            }
            let conditions = try ReadConditions.parse(
                minIndexHeader: request.headers[.paneMinIndex], query: { PaneHTTP.query(request, $0) }, pointRead: false,
                maxWaitMs: reads.maxWaitMs)
            // The hub's list route takes the same prefix, after and limit.
            let hubPath = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
            if conditions.fromHub { return try await reads.fromHub(hubPath) }
            if !conditions.isPlain {
                let (state, met) = try await reads.awaitConditions(conditions, read: { try store.latestChange(prefix: prefix) }) { state in
                    ReadVerdict.decide(conditions, region: reads.region, hub: status.hubID, watermark: state.watermark, version: nil, seq: state.seq)
                }
                if !met && !ReadVerdict.atDeadline(conditions) {
                    if conditions.fallbackToHub { return try await reads.fromHub(hubPath) }
                    return notReached(watermark: state.watermark, version: nil, status: status, reads: reads)
                }
            }
            let page = try store.list(prefix: prefix, after: after, limit: limit)
            let items = page.items.map { "{\"id\":\(JSONText.quote($0.id)),\"version\":\($0.version)}" }.joined(separator: ",")
            let next = page.items.count == limit ? page.items.last.map { JSONText.quote($0.id) } ?? "null" : "null"
            let headers = reads.headers(watermark: page.watermark)
            return PaneHTTP.json("{\"items\":[\(items)],\"next\":\(next)}", headers: headers)
        }
        return (router, [pointRead])
    }

    /// A point read's answer, `{"id","version","body","updatedAt"}` (and `"stale"`,
    /// `"staleReason"` when marked), written straight into the response's buffer.
    public static func pointBody(_ stored: StoredContext, staleReason: String?) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: stored.id.utf8.count + stored.body.count + 96)
        buffer.writeStaticString("{\"id\":")
        buffer.writeJSONString(stored.id)
        buffer.writeStaticString(",\"version\":")
        buffer.writeString(String(stored.version))
        buffer.writeStaticString(",\"body\":")
        buffer.writeBytes(stored.body)
        buffer.writeStaticString(",\"updatedAt\":\"")
        var date: [UInt8] = []
        date.reserveCapacity(24)
        JSONText.appendISO8601(ms: stored.updatedAtMs, to: &date)
        buffer.writeBytes(date)
        buffer.writeStaticString("\"")
        if let staleReason {
            buffer.writeStaticString(",\"stale\":true,\"staleReason\":")
            buffer.writeJSONString(staleReason)
        }
        buffer.writeStaticString("}")
        return buffer
    }

    /// `412`: the wait ended before the replica reached the position or version asked for. The
    /// body and headers say where the replica is.
    static func notReached(watermark: UInt64, version: Int64?, status: SpokeStatus, reads: SpokeReads) -> Response {
        var headers = reads.headers(watermark: watermark)
        if let version { headers[.paneReplicaVersion] = String(version) }
        let index = reads.token(watermark: watermark).map { "\"\($0)\"" } ?? "null"
        let message = "this replica has not reached the position or version asked for within the wait"
        return PaneHTTP.json(
            "{\"error\":\(JSONText.quote(message)),\"index\":\(index),\"watermark\":\(watermark),\"version\":\(version.map(String.init) ?? "null")}",
            status: .preconditionFailed, headers: headers)
    }

}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s
    }
}
