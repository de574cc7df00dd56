/// How a long-running loop treats an error it caught.
public enum FailureKind: Sendable, Equatable {
    /// It may pass by itself: Redis unreachable, a timeout, an error reply. Retried with backoff
    /// for as long as it lasts.
    case transient
    /// The SQLite file is unusable: it cannot be opened, is not a database or is corrupt, is
    /// read-only, the disk failed (an I/O error) or is full.
    case unusableStore
    /// Anything else: a condition nobody planned for.
    case unexpected
    /// No retry can help (an injected fault): the loop stops at once.
    case fatal

    /// The kind `error` declares (``ClassifiedError``); ``unexpected`` for any other error.
    public init(of error: any Error) {
        self = (error as? any ClassifiedError)?.failureKind ?? .unexpected
    }
}

/// An error that says how a loop should treat it. `RedisError` is ``FailureKind/transient``;
/// SQLite's errors say whether they leave the file unusable.
public protocol ClassifiedError: Error {
    var failureKind: FailureKind { get }
}

/// Counts a loop's failures in a row and decides when retrying is no longer worth it. Pure: the
/// loop does the logging, the waiting and the I/O.
///
/// The rule:
/// - a ``FailureKind/transient`` failure is retried for ever and not counted;
/// - every other failure counts; the loop stops when the failures in a row reach the limit of
///   the latest one's kind: 5 when the store is unusable, 10 for an unexpected error, 1 for a
///   fatal one;
/// - a round that succeeds starts the count again.
public struct FailureStreak: Sendable {
    /// Failures in a row after which the loop stops, per kind.
    public struct Limits: Sendable, Equatable {
        public var unusableStore: Int
        public var unexpected: Int

        public init(unusableStore: Int = 5, unexpected: Int = 10) {
            self.unusableStore = unusableStore
            self.unexpected = unexpected
        }
    }

    /// What the loop does after a failure.
    public enum Verdict: Sendable, Equatable {
        case retry
        case stop
    }

    public let limits: Limits
    /// Counted failures since the last success.
    public private(set) var count = 0

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Records a failure of `kind` and says whether to retry.
    public mutating func record(_ kind: FailureKind) -> Verdict {
        let limit: Int
        switch kind {
        case .transient: return .retry
        case .unusableStore: limit = limits.unusableStore
        case .unexpected: limit = limits.unexpected
        case .fatal: limit = 1
        }
        count += 1
        return count >= limit ? .stop : .retry
    }

    /// Records `error`; throws ``RetriesExhausted`` (wrapping it) when the loop should stop.
    public mutating func record(_ error: any Error) throws(RetriesExhausted) {
        let kind = FailureKind(of: error)
        if record(kind) == .stop {
            throw RetriesExhausted(underlying: error, kind: kind, failures: count)
        }
    }

    /// Records a round that succeeded.
    public mutating func succeeded() { count = 0 }
}

/// A loop gave up: the last error, its kind, and how many failures in a row led there.
public struct RetriesExhausted: Error, CustomStringConvertible {
    public let underlying: any Error
    public let kind: FailureKind
    public let failures: Int

    public init(underlying: any Error, kind: FailureKind, failures: Int) {
        self.underlying = underlying
        self.kind = kind
        self.failures = failures
    }

    public var description: String {
        failures > 1 ? "\(underlying) (\(failures) failures in a row)" : "\(underlying)"
    }
}
