import Foundation

/// Wakes a blocking loop when there is new work, instead of polling in a tight loop.
public final class Doorbell: @unchecked Sendable {
    private let condition = NSCondition()
    private var rung = false

    public init() {}

    public func ring() {
        condition.lock()
        rung = true
        condition.signal()
        condition.unlock()
    }

    /// Waits until rung or `ms` pass; returns whether it was rung.
    @discardableResult
    public func wait(ms: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if !rung { _ = condition.wait(until: Date(timeIntervalSinceNow: Double(ms) / 1000)) }
        let was = rung
        rung = false
        return was
    }
}
