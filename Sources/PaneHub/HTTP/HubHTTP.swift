import Foundation
import Hummingbird
import NIOCore
import PaneCore
import PaneStore
import PaneHTTP

/// The hub's HTTP API: writes and authoritative reads.
///
/// - `PUT /v1/contexts/{id}[?regions=a,b]` with a JSON body → `{"id":…,"version":N}`
/// - `DELETE /v1/contexts/{id}[?regions=a,b]` → `{"id":…,"version":N}`, 404 when unknown
/// - `GET /v1/contexts/{id}` → the authoritative copy
/// - `POST /v1/batch` with a JSON list of up to 1,000 operations (``BatchRequest``) →
///   `{"results":[{"id":…,"version":N},…],"index":…}`: one transaction, all or nothing, and
///   one stream entry per region, applied atomically by every replica
/// - `POST /v1/regions/{region}/republish` with `{"ids":[…]}` → publishes the current version
///   of each id to that region again (dead-letter replay)
/// - `GET /healthz`, `GET /readyz`
/// - `GET /status` → an HTML page: every region, replica and dead-letter stream (``StatusPage``)
///
/// With `tokens`, every route but `/healthz` needs a bearer token whose role allows it
/// (``AuthMiddleware``): `read` for GET, `write` or `admin` for PUT and DELETE, `admin` for
/// republish, `write` or `admin` for a batch.
///
/// The write routes (PUT, DELETE, batch) are ``PaneHTTP/LoopRoute``s (``HubWriteRoutes``): the
/// router has them for odd spellings of their paths, and ``PaneHTTP/HTTPService`` answers them on
/// the event loop; ``router(store:rules:batchMaxBytes:publishing:tokens:statusPage:)`` returns
/// them as its `loopRoutes`.
public enum HubHTTP {
    public static func router(
        store: HubStore, rules: BodyRules, batchMaxBytes: Int = defaultBatchMaxBytes, publishing: PublishHealth = PublishHealth(),
        tokens: TokenFileWatcher? = nil,
        statusPage: (@Sendable () async throws -> String)? = nil
    ) -> (router: Router<BasicRequestContext>, loopRoutes: [LoopRoute]) {
        let router = Router()
        // First, so requests refused by the token check are counted too (`pane_http_*` metrics).
        router.add(middleware: RequestMetricsMiddleware())
        if let tokens { router.add(middleware: AuthMiddleware(tokens: tokens)) }
        router.add(middleware: ValidationErrorMiddleware())
        router.get("/healthz") { _, _ in PaneHTTP.json("{\"status\":\"ok\"}") }
        router.get("/readyz") { _, _ -> Response in
            // Writes are still accepted while Redis is away (they wait in the outbox), but they
            // reach no region: after a few seconds of failing rounds the hub says so.
            let backlog = (try? store.outboxDepth().values.reduce(0, +)) ?? 0
            if let failing = publishing.failingForMs(), failing > readyFailingMs {
                return PaneHTTP.json(
                    "{\"status\":\"publish-failing\",\"failingMs\":\(failing),\"outbox\":\(backlog)}", status: .serviceUnavailable)
            }
            return PaneHTTP.json("{\"status\":\"ready\",\"outbox\":\(backlog)}")
        }
        if let statusPage {
            // An operator's first page: HTML, refreshing itself; a `read` token, like every GET.
            router.get("/status") { _, _ -> Response in
                let html = try await statusPage()
                return Response(
                    status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                    body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
            }
        }
        router.get("/v1/contexts") { request, _ -> Response in
            let prefix = PaneHTTP.query(request, "prefix") ?? ""
            let after = PaneHTTP.query(request, "after").flatMap { $0.isEmpty ? nil : $0 }
            var limit = 100
            if let text = PaneHTTP.query(request, "limit") {
                guard let value = Int(text), (1...1_000).contains(value) else {
                    throw ValidationError(input: "limit", value: text, reason: "limit is an integer from 1 to 1000")
                }
                limit = value
            }
            let page = try await store.list(prefix: prefix, after: after, limit: limit)
            let items = page.map { "{\"id\":\(JSONText.quote($0.id)),\"version\":\($0.version)}" }.joined(separator: ",")
            let next = page.count == limit ? page.last.map { JSONText.quote($0.id) } ?? "null" : "null"
            return PaneHTTP.json("{\"items\":[\(items)],\"next\":\(next)}")
        }
        // Answered on the event loop (``HubWriteRoutes``); here for the paths the loop leaves.
        let writes = HubWriteRoutes(store: store, rules: rules, batchMaxBytes: batchMaxBytes)
        router.loopRoute(writes.put)
        router.loopRoute(writes.delete)
        router.get("/v1/contexts/:id") { _, context -> Response in
            let id = try PaneHTTP.contextID(context)
            guard let stored = try await store.get(id: id), !stored.deleted else {
                return PaneHTTP.error(.notFound, "context '\(id)' does not exist")
            }
            var out = Array("{\"id\":\(JSONText.quote(stored.id)),\"version\":\(stored.version),\"body\":".utf8)
            out += stored.body
            out += Array(",\"updatedAt\":\(JSONText.quote(JSONText.iso8601(ms: stored.updatedAtMs)))}".utf8)
            return PaneHTTP.json(out, headers: [.eTag: "\"\(stored.version)\""])
        }
        router.loopRoute(writes.batch)
        router.post("/v1/regions/:region/republish") { request, context -> Response in
            let regionText = context.parameters.get("region") ?? ""
            let region = try Region(regionText)
            let buffer: ByteBuffer
            do {
                buffer = try await request.body.collect(upTo: republishMaxBytes)
            } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
                return PaneHTTP.error(.contentTooLarge, "invalid body: a republish request is at most \(republishMaxBytes) bytes")
            }
            struct Body: Decodable { let ids: [String] }
            let parsed: Body
            do { parsed = try JSONDecoder().decode(Body.self, from: Data(buffer.readableBytesView)) } catch {
                throw ValidationError(input: "body", value: "", reason: "expected {\"ids\": [\"<context id>\", ...]}")
            }
            // Each id once, in the order given: a request naming one context a thousand times
            // publishes it once.
            var seen = Set<String>()
            let distinct = parsed.ids.filter { seen.insert($0).inserted }
            guard distinct.count <= republishMaxIDs else {
                throw ValidationError(
                    input: "ids", value: "\(distinct.count) ids", reason: "a republish request names at most \(republishMaxIDs) distinct ids")
            }
            let ids = try distinct.map { text throws(ValidationError) in try ContextID(text) }
            let result = try await store.republish(ids: ids, region: region)
            let done = result.republished.map { JSONText.quote($0.value) }.joined(separator: ",")
            let missing = result.missing.map { JSONText.quote($0.value) }.joined(separator: ",")
            return PaneHTTP.json("{\"republished\":[\(done)],\"missing\":[\(missing)]}")
        }
        return (router, writes.all)
    }

    /// The most distinct ids one republish request may name, and its largest body.
    static let republishMaxIDs = 1_000
    static let republishMaxBytes = 512 << 10

    /// The largest batch body by default (`http.batchMaxBytes`): 4 MiB.
    public static let defaultBatchMaxBytes = 4 << 20

    /// How long the publisher's rounds may fail before `/readyz` answers 503.
    static let readyFailingMs: Int64 = 5_000
}
