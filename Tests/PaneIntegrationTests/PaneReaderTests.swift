import Foundation
import PaneCore
import PaneReader
import PaneRuntime
import PaneStore
import PaneTestKit
import Testing

/// Issue 12, item 5: the embedded reader, in the test process, while a real `pane spoke`
/// process applies to the same file.
@Suite struct PaneReaderTests {
    /// Folds events into a view: what a program beside the spoke would keep.
    static func fold(_ view: inout [String: Int64], _ event: WatchEvent) {
        switch event {
        case .put(let id, let version, _, _): view[id] = version
        case .delete(let id, _, _): view[id] = nil
        case .reset: view = [:]
        case .synced, .progress: break
        }
    }

    @Test func aReaderFollowsASpokeThatApplies() async throws {
        try await TestScene.withHub("reader", regions: ["reader"]) { scene, hub in
            let spoke = try scene.spoke("a")
            for i in 0..<200 { _ = try await hub.store.put(id: try ContextID("r/k\(i)"), body: WatchTests.body(i)) }
            #expect(await eventually(30) { FileManager.default.fileExists(atPath: spoke.db) && (try? PaneReader(path: spoke.db)) != nil })
            let reader = try PaneReader(path: spoke.db)
            let view = Locked<[String: Int64]>([:])
            let synced = Locked(false)
            let lastPosition = Locked<WatchPosition?>(nil)
            let positionsWentBack = Locked(false)
            let follower = Task {
                for try await event in reader.changes(prefix: "r/") {
                    view.withLock { Self.fold(&$0, event) }
                    if case .synced = event { synced.value = true }
                    if let position = event.position {
                        lastPosition.withLock { last in
                            if let previous = last, previous.change > position.change { positionsWentBack.value = true }
                            last = position
                        }
                    }
                }
            }
            // The spoke applies 6,000 writes with deletes (r/ and s/) while the reader follows.
            for i in 0..<6_000 {
                let id = try ContextID("\(i % 2 == 0 ? "r" : "s")/k\(i % 700)")
                if i % 11 == 0 { _ = try await hub.store.delete(id: id) } else { _ = try await hub.store.put(id: id, body: WatchTests.body(i)) }
            }
            try await scene.expectConverges(hub, spoke)
            let expected = try WatchTests.live(spoke.db, prefix: "r/")
            #expect(expected.count > 100)
            let same = await eventually(30) { view.value == expected }
            #expect(same, "the reader's view differs: \(WatchTests.difference(view.value, expected))")
            #expect(synced.value)
            #expect(!positionsWentBack.value)

            // Point reads, lists, the position and stale marks agree with the replica.
            let (id, version) = try #require(expected.min { $0.key < $1.key })
            let context = try #require(try reader.get(try ContextID(id)))
            #expect(context.version == version && context.staleReason == nil)
            #expect(String(decoding: context.body, as: UTF8.self).hasPrefix("{\"n\":"))
            #expect(try reader.get(try ContextID("r/never-written")) == nil)
            let listed = try reader.list(prefix: "r/", limit: 10_000)
            #expect(Dictionary(uniqueKeysWithValues: listed.map { ($0.id, $0.version) }) == expected)
            let position = try reader.position()
            #expect(position.watermark == (try ReplicaStore(path: spoke.db).appliedRanges().watermark))
            #expect(try reader.staleMarks().isEmpty)

            // A sequence resumed from the last position gets only what changes afterwards.
            let resumeFrom = try #require(lastPosition.value)
            _ = try await hub.store.put(id: try ContextID("r/after"), body: WatchTests.body(1))
            let resumed = Task { () -> [WatchEvent] in
                var events: [WatchEvent] = []
                for try await event in reader.changes(prefix: "r/", after: resumeFrom) {
                    events.append(event)
                    if case .put(let id, _, _, _) = event, id == "r/after" { break }
                }
                return events
            }
            let events = try await resumed.value
            #expect(events.filter { if case .put = $0 { true } else { false } }.count == 1, "\(events.count) events after the position")
            #expect(!events.contains { if case .reset = $0 { true } else { false } })
            follower.cancel()
            _ = try? await follower.value

            // A position from another file: reset first.
            var stranger = reader.changes(prefix: "r/", after: WatchPosition(file: "abc", change: 1)).makeAsyncIterator()
            let first = try await stranger.next()
            if case .reset(let reason) = first {
                #expect(reason.contains("another replica file"))
            } else {
                Issue.record("no reset: \(String(describing: first))")
            }
            #expect(throws: PaneReaderError.self) { try PaneReader(path: scene.path("no-such.sqlite")) }
        }
    }
}
