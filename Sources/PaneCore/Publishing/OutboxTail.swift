/// An outbox row just committed, for the publisher's in-memory tail.
public struct PlacedUpdate: Sendable {
    public let region: Region
    public let update: ContextUpdate

    public init(region: Region, update: ContextUpdate) {
        self.region = region
        self.update = update
    }
}

/// The newest outbox rows per region, kept in memory in commit order so the publisher sends
/// them without reading them back from SQLite. It is only a cache of the outbox table: when it
/// cannot vouch for a region (rows were written around it, it overflowed, or it does not start
/// right after what the publisher sent) the publisher reads the table, which stays the truth.
public struct OutboxTail: Sendable {
    /// Rows kept per region (about 4 MB at 256-byte bodies); past this the region's tail is
    /// dropped and the publisher reads the table, as for any backlog.
    public static let capacity = 10_000

    private var queues: [Region: [ContextUpdate]] = [:]
    /// Regions whose outbox has rows this tail does not hold.
    private var invalid: Set<Region> = []

    public init() {}

    public mutating func append(_ placed: [PlacedUpdate]) {
        for item in placed where !invalid.contains(item.region) {
            if queues[item.region, default: []].count >= Self.capacity {
                invalidate(item.region)
                continue
            }
            queues[item.region, default: []].append(item.update)
        }
    }

    /// Rows of `region` went into the table without passing through here.
    public mutating func invalidate(_ region: Region) {
        invalid.insert(region)
        queues[region] = nil
    }

    /// The publisher is about to read the table: rows committed from now on are held again.
    public mutating func revalidate(_ region: Region) {
        invalid.remove(region)
    }

    /// Up to `limit` rows of `region` right after `after`, removing them and anything older;
    /// `[]` when nothing newer was appended since the last ``revalidate(_:)``, `nil` when the
    /// table must be read instead. The caller asks only once it has sent everything the table
    /// held when it last read it.
    public mutating func take(_ region: Region, after: UInt64, limit: Int) -> [ContextUpdate]? {
        guard !invalid.contains(region) else { return nil }
        guard var queue = queues[region], !queue.isEmpty else { return [] }
        queues[region] = nil  // keep the array uniquely referenced while it is edited
        if let start = queue.firstIndex(where: { $0.seq > after }) {
            queue.removeSubrange(..<start)
        } else {
            queue.removeAll()
        }
        guard let first = queue.first else { return [] }
        guard first.seq == after + 1 else {
            queues[region] = queue
            return nil
        }
        let taken = Array(queue.prefix(limit))
        queue.removeFirst(taken.count)
        if !queue.isEmpty { queues[region] = queue }
        return taken
    }
}
