/// Exponential backoff with full jitter, for reconnects and retries.
public struct Backoff: Sendable {
    public let initialMs: Int
    public let maxMs: Int
    private var attempt = 0

    public init(initialMs: Int = 50, maxMs: Int = 2_000) {
        self.initialMs = initialMs
        self.maxMs = maxMs
    }

    /// The next delay, in milliseconds: a random value up to `initial * 2^attempt`, capped.
    public mutating func next() -> Int {
        let ceiling = min(maxMs, initialMs << min(attempt, 20))
        attempt += 1
        return max(initialMs / 2, Int.random(in: 0...max(1, ceiling)))
    }

    /// Call after a success.
    public mutating func reset() { attempt = 0 }
}
