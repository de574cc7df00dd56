import Foundation

/// The runner's load threads (writers, readers): plain threads, each with a 1 MiB stack, so their
/// blocking sockets never hold a thread of the cooperative pool.
enum LoadThreads {
    /// Starts `count` threads running `body(k)` for k in 0..<count; the group is left when all
    /// have returned.
    static func start(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) -> DispatchGroup {
        let group = DispatchGroup()
        for k in 0..<count {
            group.enter()
            let thread = Thread {
                body(k)
                group.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        return group
    }
}
