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
    /// Body bytes kept per region: the cap in bytes next to ``capacity`` (issue 10, item 5), so
    /// 10,000 large bodies cannot hold gigabytes; past it the region's tail is dropped the same way.
    public static let capacityBytes = 64 << 20

    private var queues: [Region: [ContextUpdate]] = [:]
    /// The body bytes each region's queue holds.
    private var bytes: [Region: Int] = [:]
    /// Regions whose outbox has rows this tail does not hold.
    private var invalid: Set<Region> = []

    public init() {}

    public mutating func append(_ placed: [PlacedUpdate]) {
        for item in placed where !invalid.contains(item.region) {
            let held = bytes[item.region, default: 0] + item.update.body.count
            if queues[item.region, default: []].count >= Self.capacity || held > Self.capacityBytes {
                invalidate(item.region)
                continue
            }
            queues[item.region, default: []].append(item.update)
            bytes[item.region] = held
        }
    }

    /// Rows of `region` went into the table without passing through here.
    public mutating func invalidate(_ region: Region) {
        invalid.insert(region)
        queues[region] = nil
        bytes[region] = nil
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
        var held = bytes[region, default: 0]
        bytes[region] = nil
        let stale = queue.firstIndex(where: { $0.seq > after }) ?? queue.endIndex
        for update in queue[..<stale] { held -= update.body.count }
        queue.removeSubrange(..<stale)
        guard let first = queue.first else { return [] }
        guard first.seq == after + 1 else {
            queues[region] = queue
            bytes[region] = held
            return nil
        }
        let taken = Array(queue.prefix(limit))
        queue.removeFirst(taken.count)
        for update in taken { held -= update.body.count }
        if !queue.isEmpty {
            queues[region] = queue
            bytes[region] = held
        }
        return taken
    }
}
