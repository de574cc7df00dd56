import Foundation
import NIOCore
import NIOPosix
@testable import PaneHTTP
import PaneRuntime
import Synchronization
import Testing

/// The hub's group commit hands a loop its answers through the loop's ``LoopMailbox``: answers
/// posted from another thread while the loop is busy run in ONE loop task, in the order posted;
/// an answer posted on the loop runs at once.
@Suite struct LoopMailboxTests {
    @Test func answersPostedWhileTheLoopIsBusyRunInOneTaskInOrder() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let mailbox = LoopMailbox(loop: loop)
        let ran = Mutex<[Int]>([])
        let onLoop = Mutex<[Bool]>([])
        try await BlockingThread.value(name: "test-mailbox") {
            // Hold the loop, so the posts below pile up in the mailbox.
            let release = DispatchSemaphore(value: 0)
            let holding = DispatchSemaphore(value: 0)
            loop.execute {
                holding.signal()
                release.wait()
            }
            holding.wait()
            for n in 0..<9 {
                mailbox.post {
                    ran.withLock { $0.append(n) }
                    onLoop.withLock { $0.append(loop.inEventLoop) }
                }
            }
            #expect(mailbox.tasks.load(ordering: .relaxed) == 1)
            release.signal()
            // A job posted on the loop runs at once, inside the loop task that posts it.
            try loop.submit {
                mailbox.post { ran.withLock { $0.append(100) } }
                ran.withLock { $0.append(101) }
            }.wait()
            // Once the loop has run them, the next post schedules a new task.
            try loop.submit {}.wait()
            mailbox.post { ran.withLock { $0.append(9) } }
            try loop.submit {}.wait()
        }
        #expect(ran.withLock { $0 } == [0, 1, 2, 3, 4, 5, 6, 7, 8, 100, 101, 9])
        #expect(onLoop.withLock { $0 }.allSatisfy { $0 })
        #expect(mailbox.tasks.load(ordering: .relaxed) == 2)
        try await group.shutdownGracefully()
    }
}
