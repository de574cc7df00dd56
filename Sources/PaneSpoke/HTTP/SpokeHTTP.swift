import Hummingbird
import PaneCore
import PaneStore
import PaneHTTP

/// The spoke's read API, served from the replica's SQLite file; it never waits on Redis.
///
/// - `GET /v1/contexts/{id}` → `{"id","version","body","updatedAt"}` with `ETag: "<version>"`,
///   `304` on a matching `If-None-Match`, `404` for unknown or deleted ids.
/// - `GET /v1/contexts?prefix=&after=&limit=` → `{"items":[{"id","version"}],"next":…}`
/// - `GET /healthz`, `GET /readyz`
///
/// Every context response carries `Pane-Replica-Seq` (the highest region seq the replica has
/// applied) and `Pane-Contact-Age-Ms` (how long since this worker last heard from the stream).
///
/// With `tokens`, every route but `/healthz` and `/readyz` needs a bearer token whose role
/// allows it (``AuthMiddleware``): `read` for the reads.
public enum SpokeHTTP {
    public static let maxPageSize = 1_000

    public static func router(store: ReplicaStore, status: SpokeStatus, tokens: TokenFileWatcher? = nil) -> Router<BasicRequestContext> {
        let router = Router()
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
        router.get("/v1/contexts/:id") { request, context -> Response in
            let id = try PaneHTTP.contextID(context)
            var headers = freshness(status)
            let read = try store.read(id: id)
            if read.staleReason != nil { headers[.paneStale] = "1" }
            guard let stored = read.context, !stored.deleted else {
                var message = "{\"error\":\(JSONText.quote("context '\(id)' not found in this replica"))"
                if let reason = read.staleReason {
                    message += ",\"stale\":true,\"staleReason\":\(JSONText.quote(reason))"
                }
                return PaneHTTP.json(message + "}", status: .notFound, headers: headers)
            }
            let etag = "\"\(stored.version)\""
            headers[.eTag] = etag
            if let match = request.headers[.ifNoneMatch], match.split(separator: ",").contains(where: { $0.trimmingSpaces == etag || $0.trimmingSpaces == "*" }) {
                return Response(status: .notModified, headers: headers)
            }
            var out = Array("{\"id\":\(JSONText.quote(stored.id)),\"version\":\(stored.version),\"body\":".utf8)
            out += stored.body
            out += Array(",\"updatedAt\":\"".utf8)
            JSONText.appendISO8601(ms: stored.updatedAtMs, to: &out)
            out.append(UInt8(ascii: "\""))
            if let reason = read.staleReason {
                out += Array(",\"stale\":true,\"staleReason\":\(JSONText.quote(reason))".utf8)
            }
            out.append(UInt8(ascii: "}"))
            return PaneHTTP.json(out, headers: headers)
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
            let page = try store.list(prefix: prefix, after: after, limit: limit)
            let items = page.map { "{\"id\":\(JSONText.quote($0.id)),\"version\":\($0.version)}" }.joined(separator: ",")
            let next = page.count == limit ? page.last.map { JSONText.quote($0.id) } ?? "null" : "null"
            return PaneHTTP.json("{\"items\":[\(items)],\"next\":\(next)}", headers: freshness(status))
        }
        return router
    }

    static func freshness(_ status: SpokeStatus) -> HTTPFields {
        var fields = HTTPFields()
        fields[.paneReplicaSeq] = String(status.maxSeq)
        fields[.paneContactAge] = status.contactAgeMs.map(String.init) ?? "never"
        return fields
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
