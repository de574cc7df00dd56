import Foundation

/// A digest of a set of (id, version, tombstone, body) rows, in buckets: what anti-entropy compares.
///
/// Two formats exist. Format 1 (spokes before the body hash) hashes (id, version, tombstone);
/// format 2 (``currentFormat``) adds the hash of the body (``bodyHash(_:)``; 0 for a tombstone),
/// so a replica that holds another body under the same version differs too. A replica says
/// which format it sends (``DigestReport/format``) and the hub builds its side in that format.
///
/// Each id falls into one of ``bucketCount`` buckets by a 64-bit FNV-1a hash of the id. A
/// bucket's value is the wrapping sum of its rows' hashes, so it does not depend on row order
/// and can be built in one pass over a table. Two sides that hold the same rows in a bucket
/// have the same value there; any added, missing, or different row changes it (up to hash
/// collisions, 2^-64 per bucket).
public struct ContextDigest: Sendable, Equatable {
    public static let bucketCount = 1024
    /// The format this code builds: 2, with bodies.
    public static let currentFormat = 2
    /// The formats a hub can compare against.
    public static let formats = 1...2

    public private(set) var buckets: [UInt64]

    public init() { buckets = [UInt64](repeating: 0, count: Self.bucketCount) }

    /// The bucket `id` falls into.
    public static func bucket(of id: String) -> Int {
        let h = Checksum.fnv1a64(id.utf8)
        return Int((h ^ (h >> 29)) % UInt64(bucketCount))
    }

    /// The hash of a body in format 2: FNV-1a over its bytes. The hub keeps it per placement
    /// (`placements.body_sum`), so its digest needs no body.
    public static func bodyHash(_ body: UnsafeRawBufferPointer) -> UInt64 {
        // Not the generic `Checksum.fnv1a64`: called across modules, once per byte of every body
        // on the write path and in digests, it would not be specialized.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in body {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// ``bodyHash(_:)-(UnsafeRawBufferPointer)`` of an array.
    public static func bodyHash(_ body: [UInt8]) -> UInt64 { body.withUnsafeBytes { bodyHash($0) } }

    /// The hash one row adds to its bucket: format 1 without `bodyHash`, format 2 with it.
    public static func rowHash(id: String, version: Int64, deleted: Bool, bodyHash: UInt64? = nil) -> UInt64 {
        var h = Checksum.fnv1a64(id.utf8)
        h = Checksum.fnv1a64([0], seed: h)
        h = Checksum.fnv1a64(String(version).utf8, seed: h)
        h = Checksum.fnv1a64([deleted ? 1 : 0], seed: h)
        if let bodyHash {
            let value = deleted ? 0 : bodyHash
            h = Checksum.fnv1a64((0..<8).map { UInt8(truncatingIfNeeded: value >> UInt64($0 * 8)) }, seed: h)
        }
        // A final mix, so that near-identical rows do not cancel in the sum.
        h ^= h >> 33
        h &*= 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        return h
    }

    /// Adds a row: in format 1 when `bodyHash` is `nil`, else in format 2.
    public mutating func add(id: String, version: Int64, deleted: Bool, bodyHash: UInt64? = nil) {
        buckets[Self.bucket(of: id)] &+= Self.rowHash(id: id, version: version, deleted: deleted, bodyHash: bodyHash)
    }

    /// The buckets where `self` and `other` differ.
    public func differing(from other: ContextDigest) -> [Int] {
        (0..<Self.bucketCount).filter { buckets[$0] != other.buckets[$0] }
    }

    /// 8 bytes per bucket, little-endian, in base64: 10,924 characters.
    public var encoded: String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(Self.bucketCount * 8)
        for value in buckets {
            for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
        }
        return Data(bytes).base64EncodedString()
    }

    /// Parses ``encoded``; `nil` when the text is not a digest of ``bucketCount`` buckets.
    public init?(encoded: String) {
        guard let data = Data(base64Encoded: encoded), data.count == Self.bucketCount * 8 else { return nil }
        let bytes = [UInt8](data)
        buckets = (0..<Self.bucketCount).map { index in
            var value: UInt64 = 0
            for byte in 0..<8 { value |= UInt64(bytes[index * 8 + byte]) << UInt64(byte * 8) }
            return value
        }
    }
}
