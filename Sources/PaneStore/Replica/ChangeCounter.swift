import GRDB

/// The replica file's change counter inside one write transaction: each row that changes takes
/// ``next`` and calls ``used()``; ``save(_:)`` stores the last number taken. Transactions are
/// serialized by SQLite, so numbers only grow, and a reader that sees the counter at N in its
/// snapshot sees every change numbered up to N.
struct ChangeCounter {
    /// The number the next changed row takes.
    private(set) var next: Int64
    private let start: Int64

    init(_ db: Database) throws {
        self.init(start: try Int64.fetchOne(db.cachedStatement(sql: "SELECT value FROM replica_state WHERE name = 'change'")) ?? 0)
    }

    /// A counter whose last number stored is `start`.
    init(start: Int64) {
        self.start = start
        next = start + 1
    }

    /// The row bound with ``next`` changed: the following row takes the number after it.
    mutating func used() { next += 1 }

    /// The last number taken.
    var last: Int64 { next - 1 }

    /// Stores the counter, when a row took a number.
    func save(_ db: Database) throws {
        guard last != start else { return }
        try db.cachedStatement(sql: "UPDATE replica_state SET value = ? WHERE name = 'change'").execute(arguments: [last])
    }
}
