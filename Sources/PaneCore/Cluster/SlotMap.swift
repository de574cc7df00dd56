/// Which master serves each hash slot: what `CLUSTER SLOTS` said, corrected by `MOVED` replies.
public struct SlotMap: Sendable, Equatable {
    /// A range of slots and the master that serves it, with its replicas.
    public struct Range: Sendable, Equatable {
        public var slots: ClosedRange<Int>
        public var master: ClusterNode
        public var replicas: [ClusterNode]

        public init(slots: ClosedRange<Int>, master: ClusterNode, replicas: [ClusterNode] = []) {
            self.slots = slots
            self.master = master
            self.replicas = replicas
        }
    }

    /// The ranges, sorted by first slot, not overlapping.
    public private(set) var ranges: [Range]

    /// Builds a map from ranges in any order. Overlapping ranges are refused (a node's answer
    /// that contradicts itself): `nil`.
    public init?(ranges: [Range]) {
        let sorted = ranges.sorted { $0.slots.lowerBound < $1.slots.lowerBound }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.slots.upperBound >= b.slots.lowerBound { return nil }
        guard sorted.allSatisfy({ $0.slots.lowerBound >= 0 && $0.slots.upperBound < ClusterSlot.count }) else { return nil }
        self.ranges = sorted
    }

    /// The master of `slot`; `nil` when no node serves it (the cluster is incomplete).
    public func master(of slot: Int) -> ClusterNode? {
        var low = 0
        var high = ranges.count - 1
        while low <= high {
            let mid = (low + high) / 2
            let range = ranges[mid].slots
            if slot < range.lowerBound {
                high = mid - 1
            } else if slot > range.upperBound {
                low = mid + 1
            } else {
                return ranges[mid].master
            }
        }
        return nil
    }

    /// The distinct masters, in slot order: one publishing lane each.
    public var masters: [ClusterNode] {
        var seen = Set<ClusterNode>()
        return ranges.compactMap { seen.insert($0.master).inserted ? $0.master : nil }
    }

    /// The number of slots no master serves.
    public var uncoveredSlots: Int { ClusterSlot.count - ranges.reduce(0) { $0 + $1.slots.count } }

    /// Records a `MOVED`: `slot` is now served by `node` (its replicas are unknown until the next
    /// full refresh). The range that held it is split around it.
    public mutating func move(slot: Int, to node: ClusterNode) {
        guard (0..<ClusterSlot.count).contains(slot) else { return }
        var result: [Range] = []
        for range in ranges {
            guard range.slots.contains(slot) else {
                result.append(range)
                continue
            }
            if range.slots.lowerBound < slot {
                result.append(Range(slots: range.slots.lowerBound...(slot - 1), master: range.master, replicas: range.replicas))
            }
            if slot < range.slots.upperBound {
                result.append(Range(slots: (slot + 1)...range.slots.upperBound, master: range.master, replicas: range.replicas))
            }
        }
        result.append(Range(slots: slot...slot, master: node))
        ranges = result.sorted { $0.slots.lowerBound < $1.slots.lowerBound }
    }
}
