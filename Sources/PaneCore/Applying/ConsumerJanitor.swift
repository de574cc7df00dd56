/// Which consumers of a group to remove: idle longer than the threshold, nothing pending, not us.
public enum ConsumerJanitor {
    public struct Consumer: Sendable, Equatable {
        public let name: String
        public let pending: Int
        public let idleMs: Int64
        public init(name: String, pending: Int, idleMs: Int64) {
            self.name = name
            self.pending = pending
            self.idleMs = idleMs
        }
    }

    public static func removable(_ consumers: [Consumer], me: String, idleThresholdMs: Int64) -> [String] {
        consumers.filter { $0.name != me && $0.pending == 0 && $0.idleMs >= idleThresholdMs }.map(\.name)
    }
}
