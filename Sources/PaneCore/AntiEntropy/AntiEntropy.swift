import Foundation

/// The hub's side of an anti-entropy comparison.
public enum AntiEntropy {
    /// What a comparison found.
    public struct Outcome: Sendable, Equatable {
        /// Buckets that differ and that no update after the replica's position touched: real
        /// divergence, to be resent.
        public var differing: [Int]
        /// Buckets that the hub changed after the replica's position: not comparable this round.
        public var inFlux: Int
    }

    /// Compares a replica's digest, taken at its watermark `position`, with the hub's current
    /// digest. `hubMaxSeq[b]` is the highest seq of any hub row in bucket `b`: a bucket the hub
    /// changed after `position` may legitimately differ, so it is skipped this round. Every
    /// other bucket must match, since the replica has applied every entry up to `position`.
    public static func compare(hub: ContextDigest, hubMaxSeq: [UInt64], replica: ContextDigest, position: UInt64) -> Outcome {
        var differing: [Int] = []
        var inFlux = 0
        for bucket in 0..<ContextDigest.bucketCount where hub.buckets[bucket] != replica.buckets[bucket] {
            if hubMaxSeq[bucket] > position {
                inFlux += 1
            } else {
                differing.append(bucket)
            }
        }
        return Outcome(differing: differing, inFlux: inFlux)
    }
}
