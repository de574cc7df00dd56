import Foundation

/// A replica's request for a resync, sent to the hub through `pane:{R}:resync` (one field,
/// `request`, holding this as JSON). The hub needs no HTTP link to the replica, nor the
/// replica to the hub.
public struct ResyncRequest: Codable, Sendable, Equatable {
    /// Chosen by the requester; comes back in the announcement so it can tell when it is served.
    public var requestID: String
    /// The replica that asks; `nil` asks for every replica of the region (admin).
    public var replica: String?
    /// Why, for logs and status: `trimmed`, `lost`, `bootstrap`, `seq-gap`, `dead-letter`, `admin`, `digest`...
    public var reason: String
    /// Buckets (``ContextDigest/bucket(of:)``) to resend; `nil` resends every context of the region.
    public var buckets: [Int]?
    /// `true` when the requester applies a streamed snapshot (``SnapshotAnnouncement/streamed``);
    /// absent in requests of spokes from before streaming, which get a snapshot written in full
    /// before it is announced.
    public var streaming: Bool?

    public init(requestID: String, replica: String?, reason: String, buckets: [Int]?, streaming: Bool? = nil) {
        self.requestID = requestID
        self.replica = replica
        self.reason = reason
        self.buckets = buckets.map { Array(Set($0)).sorted() }
        self.streaming = streaming
    }

    public static let field = "request"

    public func encoded() -> [UInt8] { Array((try? JSONEncoder().encode(self)) ?? Data()) }

    /// Parses the `request` field; the error names what is wrong.
    public static func decode(_ bytes: [UInt8]) throws(EntryError) -> ResyncRequest {
        let request: ResyncRequest
        do { request = try JSONDecoder().decode(ResyncRequest.self, from: Data(bytes)) } catch {
            throw EntryError(.badBody, field: field, detail: "resync request is not the expected JSON: \(error)")
        }
        if let buckets = request.buckets, let bad = buckets.first(where: { !(0..<ContextDigest.bucketCount).contains($0) }) {
            throw EntryError(.badBody, field: field, detail: "bucket \(bad) is outside 0..<\(ContextDigest.bucketCount)")
        }
        return request
    }
}
