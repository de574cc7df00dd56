import Hummingbird
import PaneCore
import PaneHTTP
import PaneStore
import Synchronization

/// A point read's answer from one read of the replica, before the headers that change without
/// the file (freshness, position): the status, the body as written on the wire, the ETag and
/// the stale mark. Built once per read; ``PointReadCache`` keeps it until the file's next commit.
struct PointAnswer: Sendable {
    let status: HTTPResponse.Status
    let body: ByteBuffer
    /// `"<version>"` of a live context; nil with `404`.
    let etag: String?
    let stale: Bool
    /// The replica's watermark in the read's snapshot: `Pane-Index` says it.
    let watermark: UInt64
    /// The response headers last built for this answer, and what they said: a cached answer
    /// served many times in one millisecond copies them instead of building them each time.
    private let memo = HeaderMemo()

    final class HeaderMemo: Sendable {
        let last = Mutex<(key: SpokeReads.HeaderKey, fields: HTTPFields)?>(nil)
    }

    /// The context, or `404` (unknown or deleted); stale marks in the body and `Pane-Stale`.
    init(id: ContextID, read: ReplicaRead) {
        watermark = read.watermark
        stale = read.staleReason != nil
        guard let stored = read.context, !stored.deleted else {
            var message = "{\"error\":\(JSONText.quote("context '\(id)' not found in this replica"))"
            if let reason = read.staleReason {
                message += ",\"stale\":true,\"staleReason\":\(JSONText.quote(reason))"
            }
            status = .notFound
            body = ByteBuffer(string: message + "}")
            etag = nil
            return
        }
        status = .ok
        body = SpokeHTTP.pointBody(stored, staleReason: read.staleReason)
        etag = "\"\(stored.version)\""
    }

    /// Bytes this answer holds (for the cache's budget).
    var bytes: Int { body.readableBytes + (etag?.utf8.count ?? 0) + 64 }

    /// The response: freshness, position and source headers on every one; `304` on a matching
    /// `If-None-Match`. The headers in the order the route always wrote them: `Pane-*`, ETag,
    /// Content-Type (none on a `304`).
    func response(_ request: Request, reads: SpokeReads) -> Response {
        let key = reads.headerKey(watermark: watermark)
        let fields: HTTPFields
        if let last = memo.last.withLock({ $0 }), last.key == key {
            fields = last.fields
        } else {
            var built = reads.headers(for: key)
            if stale { built[.paneStale] = "1" }
            if let etag { built[.eTag] = etag }
            built[.contentType] = "application/json"
            memo.last.withLock { $0 = (key, built) }
            fields = built
        }
        if let etag, let match = request.headers[.ifNoneMatch], Self.matches(match, etag: etag) {
            var headers = fields
            headers[.contentType] = nil
            return Response(status: .notModified, headers: headers)
        }
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: body))
    }

    /// Whether `If-None-Match` names `etag`: a list of tags, weak ones (`W/"3"`) too, or `*`
    /// (If-None-Match compares weakly, RFC 9110).
    static func matches(_ header: String, etag: String) -> Bool {
        header.split(separator: ",").contains { tag in
            let tag = tag.trimmingSpaces
            return tag == etag || tag == "*" || (tag.hasPrefix("W/") && tag.dropFirst(2) == etag)
        }
    }
}
