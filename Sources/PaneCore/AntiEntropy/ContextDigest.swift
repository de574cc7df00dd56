import Foundation

/// A digest of a set of (id, version, tombstone) triples, in buckets: what anti-entropy compares.
///
/// Each id falls into one of ``bucketCount`` buckets by a 64-bit FNV-1a hash of the id. A
/// bucket's value is the wrapping sum of its rows' hashes, so it does not depend on row order
/// and can be built in one pass over a table. Two sides that hold the same rows in a bucket
/// have the same value there; any added, missing, or different row changes it (up to hash
/// collisions, 2^-64 per bucket).
public struct ContextDigest: Sendable, Equatable {
    public static let bucketCount = 1024

    public private(set) var buckets: [UInt64]

    public init() { buckets = [UInt64](repeating: 0, count: Self.bucketCount) }

    /// The bucket `id` falls into.
    public static func bucket(of id: String) -> Int {
        let h = Checksum.fnv1a64(id.utf8)
        return Int((h ^ (h >> 29)) % UInt64(bucketCount))
    }

    /// The hash one row adds to its bucket.
    public static func rowHash(id: String, version: Int64, deleted: Bool) -> UInt64 {
        var h = Checksum.fnv1a64(id.utf8)
        h = Checksum.fnv1a64([0], seed: h)
        h = Checksum.fnv1a64(String(version).utf8, seed: h)
        h = Checksum.fnv1a64([deleted ? 1 : 0], seed: h)
        // A final mix, so that near-identical rows do not cancel in the sum.
        h ^= h >> 33
        h &*= 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        return h
    }

    public mutating func add(id: String, version: Int64, deleted: Bool) {
        buckets[Self.bucket(of: id)] &+= Self.rowHash(id: id, version: version, deleted: deleted)
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
