/// The region `seq`s a replica has applied, as disjoint ranges; the first range always starts
/// at 0, and its upper end is the replica's **watermark**: every entry at or below it is applied.
///
/// Several workers of one replica apply different entries, in any order; each batch adds its
/// seqs inside the same transaction as the apply, so the watermark is replica-wide. With one
/// worker reading in order, there is a single range `0...watermark` and each batch extends it.
/// A seq that never arrives (dead-lettered, trimmed, lost with Redis data) leaves the watermark
/// stalled below it: that is what ``GapDetector`` looks for. A resync snapshot current to `seq`
/// S raises the watermark to S at once (``raise(to:)``).
public struct SeqRanges: Sendable, Equatable, CustomStringConvertible {
    /// Sorted, disjoint, non-adjacent; `ranges[0].lowerBound == 0`.
    public private(set) var ranges: [ClosedRange<UInt64>]

    public init() { ranges = [0...0] }

    /// Rebuilds from stored ranges (any order, overlaps allowed).
    public init(_ stored: [ClosedRange<UInt64>]) {
        ranges = [0...0]
        for range in stored { insert(range) }
    }

    /// Every seq at or below the watermark has been applied.
    public var watermark: UInt64 { ranges[0].upperBound }
    /// The highest seq applied.
    public var highest: UInt64 { ranges[ranges.count - 1].upperBound }

    public func contains(_ seq: UInt64) -> Bool {
        ranges.contains { $0.contains(seq) }
    }

    /// Adds the seqs of one batch (any order, duplicates allowed).
    public mutating func insert<S: Sequence>(seqs: S) where S.Element == UInt64 {
        // Collapse the batch into runs first: a batch read in order is one run.
        var sorted = Array(seqs)
        guard !sorted.isEmpty else { return }
        sorted.sort()
        var start = sorted[0]
        var end = sorted[0]
        for seq in sorted.dropFirst() {
            if seq <= end + 1 {
                end = max(end, seq)
            } else {
                insert(start...end)
                start = seq
                end = seq
            }
        }
        insert(start...end)
    }

    /// Adds one range, merging with neighbours it overlaps or touches.
    public mutating func insert(_ range: ClosedRange<UInt64>) {
        var lower = range.lowerBound
        var upper = range.upperBound
        var result: [ClosedRange<UInt64>] = []
        result.reserveCapacity(ranges.count + 1)
        var placed = false
        for existing in ranges {
            if existing.upperBound &+ 1 < lower {
                result.append(existing)
            } else if upper &+ 1 < existing.lowerBound {
                if !placed {
                    result.append(lower...upper)
                    placed = true
                }
                result.append(existing)
            } else {
                lower = min(lower, existing.lowerBound)
                upper = max(upper, existing.upperBound)
            }
        }
        if !placed { result.append(lower...upper) }
        ranges = result
    }

    /// Marks every seq up to `seq` applied: a snapshot current to `seq` was applied.
    public mutating func raise(to seq: UInt64) { insert(0...seq) }

    public var description: String {
        ranges.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
            .joined(separator: ",")
    }
}
