import Hummingbird
import NIOCore
import PaneCore
import PaneHTTP

/// The hub's HTTP API: writes and authoritative reads.
///
/// - `PUT /v1/contexts/{id}[?regions=a,b]` with a JSON body → `{"id":…,"version":N}`
/// - `DELETE /v1/contexts/{id}[?regions=a,b]` → `{"id":…,"version":N}`, 404 when unknown
/// - `GET /v1/contexts/{id}` → the authoritative copy
/// - `GET /healthz`
public enum HubHTTP {
    public static func router(store: HubStore, rules: BodyRules) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: ValidationErrorMiddleware())
        router.get("/healthz") { _, _ in PaneHTTP.json("{\"status\":\"ok\"}") }
        router.put("/v1/contexts/:id") { request, context -> Response in
            let id = try PaneHTTP.contextID(context)
            let regions = try regionList(request)
            let buffer: ByteBuffer
            do {
                buffer = try await request.body.collect(upTo: rules.maxBytes)
            } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
                throw ValidationError(input: "body", value: "", reason: "body is over the limit of \(rules.maxBytes) bytes (body.maxBytes)")
            }
            let body = Array(buffer.readableBytesView)
            if let problem = rules.problem(with: body) {
                throw ValidationError(input: "body", value: String(decoding: body.prefix(60), as: UTF8.self), reason: problem)
            }
            let write = try await store.put(id: id, body: body, regions: regions)
            return PaneHTTP.json(writeJSON(write))
        }
        router.delete("/v1/contexts/:id") { request, context -> Response in
            let id = try PaneHTTP.contextID(context)
            let regions = try regionList(request)
            guard let write = try await store.delete(id: id, regions: regions) else {
                return PaneHTTP.error(.notFound, "context '\(id)' does not exist or is already deleted")
            }
            return PaneHTTP.json(writeJSON(write))
        }
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
        return router
    }

    private static func regionList(_ request: Request) throws(ValidationError) -> [Region]? {
        guard let text = PaneHTTP.query(request, "regions") else { return nil }
        return try Region.list(text)
    }

    private static func writeJSON(_ write: HubWrite) -> String {
        "{\"id\":\(JSONText.quote(write.id.value)),\"version\":\(write.version)}"
    }
}
