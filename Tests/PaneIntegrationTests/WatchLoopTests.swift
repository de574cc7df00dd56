import Foundation
import PaneApp
import PaneCore
import PaneRuntime
import PaneTestKit
import Testing

/// Watch streams served on the event loop (issue 12's leftover: no task per watcher): the
/// watchers of a loop wake together and read their pages in batches; a client that goes gives
/// its slot back; the router's copy of the route (an odd spelling of the path) streams too.
@Suite struct WatchLoopTests {
    /// The value of the `pane_spoke_watchers` gauge, from `/metrics`.
    static func watchers(_ spoke: SpokeProcess) throws -> Int? {
        let text = try spoke.probe().get("/metrics").text
        let line = text.split(separator: "\n").first { $0.hasPrefix("pane_spoke_watchers") }
        return line.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }.map { Int($0) }
    }

    /// More watchers than one batch of reads (``WatchLoop/batchLimit``, 128) on one prefix: one
    /// write reaches every one of them, and each change after it too. When they all leave, the
    /// gauge goes back to 0 (each slot given back when its connection closes).
    @Test func everyWatcherOfManyGetsEachChange() async throws {
        try await TestScene.withHub("watchmany", regions: ["wmany"]) { scene, hub in
            let spoke = try scene.spoke("a")
            try await WatchTests.waitReady(spoke)
            let count = 150
            var clients: [WatchClient] = []
            for _ in 0..<count { clients.append(try await WatchTests.open(spoke, prefix: "m/")) }
            let other = try await WatchTests.open(spoke, prefix: "other/")
            #expect(clients.allSatisfy { $0.status == 200 })
            #expect(await eventually(30) { clients.allSatisfy { $0.count("synced") == 1 } }, "not every watcher got synced")
            #expect(await eventually(10) { (try? Self.watchers(spoke)) == count + 1 }, "gauge: \(String(describing: try? Self.watchers(spoke)))")
            for round in 1...3 {
                _ = try await hub.store.put(id: try ContextID("m/\(round)"), body: WatchTests.body(round))
                let all = await eventually(30) { clients.allSatisfy { $0.view["m/\(round)"] != nil } }
                let missing = clients.filter { $0.view["m/\(round)"] == nil }.count
                #expect(all, "round \(round): \(missing) of \(count) watchers did not get m/\(round)")
            }
            #expect(other.count("put") == 0, "a watcher of another prefix got a put: \(other.events.suffix(2))")
            #expect(clients.allSatisfy { !$0.ended && $0.backwards.isEmpty })
            for client in clients { client.close() }
            other.close()
            #expect(await eventually(30) { (try? Self.watchers(spoke)) == 0 }, "gauge: \(String(describing: try? Self.watchers(spoke)))")
        }
    }

    /// `//v1/watch` is not the loop route's path: the router answers it with the same stream
    /// (its body written by a task), which follows changes and ends properly when the spoke stops.
    @Test func anOddSpellingOfThePathStreamsThroughTheRouter() async throws {
        try await TestScene.withHub("watchodd", regions: ["wodd"]) { scene, hub in
            let spoke = try scene.spoke("a", environment: ["PANE_SPOKE_WATCH_PROGRESS_MS": "300"])
            try await WatchTests.waitReady(spoke)
            _ = try await hub.store.put(id: try ContextID("o/1"), body: WatchTests.body(1))
            #expect(await eventually(30) { (try? spoke.probe().get("/v1/contexts/o%2F1").status) == 200 })
            let client = try await BlockingThread.value(name: "test-watch-open") {
                try EventStreamClient(port: spoke.port, path: "//v1/watch?prefix=o%2F")
            }
            #expect(client.status == 200)
            #expect(client.headers["content-type"] == "text/event-stream")
            let events = Locked<[EventStreamClient.Event]>([])
            let ended = Locked<String?>(nil)
            let thread = Thread {
                let reason = client.run { event in events.withLock { $0.append(event) } }
                ended.withLock { $0 = reason }
            }
            thread.start()
            #expect(await eventually(10) { events.value.contains { $0.name == "synced" } }, "\(events.value)")
            #expect(events.value.first?.name == "put" && events.value.first?.data.contains("o/1") == true, "\(events.value.prefix(2))")
            _ = try await hub.store.put(id: try ContextID("o/2"), body: WatchTests.body(2))
            #expect(await eventually(30) { events.value.contains { $0.name == "put" && $0.data.contains("o/2") } }, "\(events.value)")
            #expect(await eventually(10) { events.value.contains { $0.name == "progress" } }, "no progress: \(events.value.suffix(2))")
            #expect((try? Self.watchers(spoke)) == 1)
            let status = try await BlockingThread.value(name: "test-stop") { spoke.child.stop(timeout: 20) }
            #expect(status == 0, "exit status \(status): \(spoke.log().suffix(600))")
            #expect(await eventually(10) { ended.value != nil })
            #expect(ended.value == "finished", "\(String(describing: ended.value))")
        }
    }
}
