/// Decides what a worker does with an entry it could not apply: the dead-letter rules.
///
/// - A **permanent** failure (the entry cannot be decoded or validated) goes to the dead-letter
///   stream at once: retrying cannot fix it.
/// - A **transient** failure (SQLite busy, a trigger refusing the row, Redis timing out, or any
///   error thrown while applying: a worker bug) is retried with backoff and not acked, until the
///   entry has been delivered `maxDeliveries` times (XPENDING's counter); then it goes to the
///   dead-letter stream. A replica file that is unusable (read-only, corrupt, disk full) is no
///   entry's fault: the worker does not bring it here, it stops instead.
public struct DeliveryPolicy: Sendable, Equatable {
    /// Deliveries after which a transiently failing entry is dead-lettered (default 5).
    public var maxDeliveries: Int
    /// The first retry delay; doubled per delivery, capped at ``maxBackoffMs``.
    public var initialBackoffMs: Int
    public var maxBackoffMs: Int

    public init(maxDeliveries: Int = 5, initialBackoffMs: Int = 100, maxBackoffMs: Int = 5_000) {
        self.maxDeliveries = maxDeliveries
        self.initialBackoffMs = initialBackoffMs
        self.maxBackoffMs = maxBackoffMs
    }

    /// Why an entry failed.
    public enum Failure: Sendable, Equatable {
        case permanent(EntryError)
        case transient(String)

        /// `permanent` or `transient`, as recorded in the dead letter.
        public var kind: String {
            switch self {
            case .permanent: return "permanent"
            case .transient: return "transient"
            }
        }

        public var reason: String {
            switch self {
            case .permanent(let error): return error.description
            case .transient(let message): return message
            }
        }
    }

    /// What to do next.
    public enum Action: Sendable, Equatable {
        /// Move to the dead-letter stream and ack, atomically; mark the context stale.
        case deadLetter(reason: String)
        /// Leave pending; re-read after the delay.
        case retry(afterMs: Int)
    }

    /// The action for `failure` of an entry delivered `deliveries` times (1 on first delivery).
    public func decide(_ failure: Failure, deliveries: Int) -> Action {
        switch failure {
        case .permanent(let error):
            return .deadLetter(reason: "\(error)")
        case .transient(let message):
            if deliveries >= maxDeliveries {
                return .deadLetter(reason: "failed \(deliveries) deliveries, last error: \(message)")
            }
            let exponent = min(max(deliveries - 1, 0), 16)
            return .retry(afterMs: min(maxBackoffMs, initialBackoffMs << exponent))
        }
    }
}
