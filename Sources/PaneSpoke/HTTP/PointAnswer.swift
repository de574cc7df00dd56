import Hummingbird
import PaneCore
import PaneHTTP
import PaneStore

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
    /// `If-None-Match`.
    func response(_ request: Request, reads: SpokeReads) -> Response {
        var headers = reads.headers(watermark: watermark)
        if stale { headers[.paneStale] = "1" }
        guard let etag else { return PaneHTTP.json(body, status: status, headers: headers) }
        headers[.eTag] = etag
        // A list of tags, weak ones (`W/"3"`) too: If-None-Match compares weakly (RFC 9110).
        if let match = request.headers[.ifNoneMatch],
            match.split(separator: ",").contains(where: { tag in
                let tag = tag.trimmingSpaces
                return tag == etag || tag == "*" || (tag.hasPrefix("W/") && tag.dropFirst(2) == etag)
            })
        {
            return Response(status: .notModified, headers: headers)
        }
        return PaneHTTP.json(body, status: status, headers: headers)
    }
}
