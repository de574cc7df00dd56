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

    public init(requestID: String, replica: String?, reason: String, buckets: [Int]?) {
        self.requestID = requestID
        self.replica = replica
        self.reason = reason
        self.buckets = buckets.map { Array(Set($0)).sorted() }
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

/// The body of a `snap` entry in a region stream: a snapshot is ready at `key`.
///
/// The snapshot holds, for the listed buckets (all when `nil`), every context the hub places in
/// the region, tombstones included, as of region seq `seq`. A replica it names applies it under
/// the apply rule, removes rows of those buckets that the snapshot lacks and that no entry after
/// `seq` wrote, and raises its watermark to `seq`. Other replicas only record the entry's seq.
public struct SnapshotAnnouncement: Codable, Sendable, Equatable {
    public var key: String
    public var epoch: Int64
    /// The region seq the snapshot is current to.
    public var seq: UInt64
    public var chunks: Int
    public var rows: Int
    /// The replicas it is for; `nil` means every replica of the region.
    public var replicas: [String]?
    public var buckets: [Int]?
    /// The requests it answers.
    public var requestIDs: [String]
    public var reason: String

    public init(
        key: String, epoch: Int64, seq: UInt64, chunks: Int, rows: Int, replicas: [String]?, buckets: [Int]?, requestIDs: [String],
        reason: String
    ) {
        self.key = key
        self.epoch = epoch
        self.seq = seq
        self.chunks = chunks
        self.rows = rows
        self.replicas = replicas
        self.buckets = buckets
        self.requestIDs = requestIDs
        self.reason = reason
    }

    public func isFor(_ replica: ReplicaName) -> Bool { replicas?.contains(replica.name) ?? true }

    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return Array((try? encoder.encode(self)) ?? Data())
    }

    public static func decode(_ body: [UInt8]) throws(EntryError) -> SnapshotAnnouncement {
        do { return try JSONDecoder().decode(SnapshotAnnouncement.self, from: Data(body)) } catch {
            throw EntryError(.badBody, field: StreamEntryCodec.Field.body, detail: "snapshot announcement is not the expected JSON: \(error)")
        }
    }
}

/// One context in a snapshot.
public struct SnapshotRow: Sendable, Equatable {
    public var id: ContextID
    public var version: Int64
    public var deleted: Bool
    /// The body of `version`; empty for tombstones and for ``bodyMissing`` rows.
    public var body: [UInt8]
    public var hubTimeMs: Int64
    /// The region seq of the update that wrote this version.
    public var seq: UInt64
    /// The hub's current version is newer than the one placed in this region (a later write
    /// did not target it), so the hub no longer holds this version's body. The replica keeps
    /// what it has for this id and does not remove it.
    public var bodyMissing: Bool

    public init(id: ContextID, version: Int64, deleted: Bool, body: [UInt8], hubTimeMs: Int64, seq: UInt64, bodyMissing: Bool = false) {
        self.id = id
        self.version = version
        self.deleted = deleted
        self.body = body
        self.hubTimeMs = hubTimeMs
        self.seq = seq
        self.bodyMissing = bodyMissing
    }
}

/// The binary form of a snapshot chunk: a list of rows, each
/// `u16 idLength, id, i64 version, u8 flags, i64 hubTimeMs, u64 seq, u32 bodyLength, body`
/// (little-endian; flags bit 0 = deleted, bit 1 = body missing).
public enum SnapshotChunkCodec {
    public static func encode(_ rows: [SnapshotRow]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(rows.reduce(0) { $0 + 31 + $1.id.value.utf8.count + $1.body.count })
        func put<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
        }
        for row in rows {
            let id = Array(row.id.value.utf8)
            put(UInt16(id.count))
            out.append(contentsOf: id)
            put(row.version)
            put(UInt8((row.deleted ? 1 : 0) | (row.bodyMissing ? 2 : 0)))
            put(row.hubTimeMs)
            put(row.seq)
            put(UInt32(row.body.count))
            out.append(contentsOf: row.body)
        }
        return out
    }

    public static func decode(_ bytes: [UInt8]) throws(EntryError) -> [SnapshotRow] {
        var rows: [SnapshotRow] = []
        var index = 0
        func take(_ count: Int) throws(EntryError) -> ArraySlice<UInt8> {
            guard count >= 0, index + count <= bytes.count else {
                throw EntryError(.badBody, field: "chunk", detail: "snapshot chunk ends in the middle of a row (byte \(index) of \(bytes.count))")
            }
            defer { index += count }
            return bytes[index..<(index + count)]
        }
        func int<T: FixedWidthInteger>(_: T.Type) throws(EntryError) -> T {
            let slice = try take(MemoryLayout<T>.size)
            var value: T = 0
            for (shift, byte) in slice.enumerated() { value |= T(truncatingIfNeeded: byte) << (shift * 8) }
            return value
        }
        while index < bytes.count {
            let idLength = Int(try int(UInt16.self))
            let idText = String(decoding: try take(idLength), as: UTF8.self)
            let id: ContextID
            do { id = try ContextID(idText) } catch {
                throw EntryError(.badContextID, field: "chunk", detail: error.description)
            }
            let version = try int(Int64.self)
            let flags = try int(UInt8.self)
            let ts = try int(Int64.self)
            let seq = try int(UInt64.self)
            let bodyLength = Int(try int(UInt32.self))
            let body = Array(try take(bodyLength))
            rows.append(
                SnapshotRow(id: id, version: version, deleted: flags & 1 != 0, body: body, hubTimeMs: ts, seq: seq, bodyMissing: flags & 2 != 0))
        }
        return rows
    }
}

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

    public init(reason: String, state: String, requestedAtMs: Int64, chunksDone: Int, chunks: Int, bootstrapping: Bool) {
        self.reason = reason
        self.state = state
        self.requestedAtMs = requestedAtMs
        self.chunksDone = chunksDone
        self.chunks = chunks
        self.bootstrapping = bootstrapping
    }
}

/// What a replica publishes in `pane:{R}:replicas`, field `<replica>:digest`, every
/// anti-entropy interval: its digest at its watermark.
public struct DigestReport: Codable, Sendable, Equatable {
    public var replica: String
    public var position: UInt64
    public var timeMs: Int64
    public var digest: String

    public init(replica: String, position: UInt64, timeMs: Int64, digest: String) {
        self.replica = replica
        self.position = position
        self.timeMs = timeMs
        self.digest = digest
    }
}

/// What the hub wrote after comparing a replica's digest, field `<replica>:verdict`.
public struct DigestVerdict: Codable, Sendable, Equatable {
    public var replica: String
    public var position: UInt64
    public var differing: [Int]
    public var inFlux: Int
    public var timeMs: Int64
    /// The request id of the resync the hub started for the differing buckets, if any.
    public var resyncRequestID: String?

    public init(replica: String, position: UInt64, differing: [Int], inFlux: Int, timeMs: Int64, resyncRequestID: String?) {
        self.replica = replica
        self.position = position
        self.differing = differing
        self.inFlux = inFlux
        self.timeMs = timeMs
        self.resyncRequestID = resyncRequestID
    }
}

/// Encodes the heartbeat-style records as JSON; decoding returns `nil` for anything unexpected.
public enum StatusJSON {
    public static func encode<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self)
    }

    public static func decode<T: Decodable>(_ type: T.Type, _ text: String?) -> T? {
        guard let text else { return nil }
        return try? JSONDecoder().decode(type, from: Data(text.utf8))
    }
}
