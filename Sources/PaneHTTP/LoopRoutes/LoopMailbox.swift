import NIOCore
import Synchronization

/// The answers coming back to one event loop from other threads (the hub's group commit), run
/// in one loop task per batch instead of one task each: a group commit that answers nine
/// writes of one loop's connections hands that loop one job (issue 13, the hub's CPU per write).
///
/// The first answer posted to an empty mailbox schedules the task; answers posted before it
/// runs join it. They run in the order they were posted. On the loop itself, an answer runs at
/// once, as before.
final class LoopMailbox: Sendable {
    typealias Job = @Sendable () -> Void

    let loop: any EventLoop
    private let jobs = Mutex<[Job]>([])
    /// Loop tasks scheduled so far (tests read it).
    let tasks = Atomic<Int>(0)

    init(loop: any EventLoop) {
        self.loop = loop
    }

    private static let all = Mutex<[ObjectIdentifier: LoopMailbox]>([:])

    /// The mailbox of `loop`, made at its first use, one per loop for the process's life.
    static func of(_ loop: any EventLoop) -> LoopMailbox {
        all.withLock { all in
            if let mailbox = all[ObjectIdentifier(loop)] { return mailbox }
            let mailbox = LoopMailbox(loop: loop)
            all[ObjectIdentifier(loop)] = mailbox
            return mailbox
        }
    }

    /// Runs `job` on the loop: at once when called there, else with the other jobs posted
    /// before the loop gets to them.
    func post(_ job: @escaping Job) {
        if loop.inEventLoop { return job() }
        let first = jobs.withLock { jobs in
            jobs.append(job)
            return jobs.count == 1
        }
        if first {
            tasks.add(1, ordering: .relaxed)
            loop.execute { self.run() }
        }
    }

    private func run() {
        var batch: [Job] = []
        jobs.withLock { swap(&$0, &batch) }
        for job in batch { job() }
    }
}
