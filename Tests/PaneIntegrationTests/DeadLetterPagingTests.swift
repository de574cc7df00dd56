import Foundation
import PaneApp
import PaneCore
import PaneRedis
import PaneRuntime
import PaneTestKit
import Testing

/// Issue 10, item 4: `pane admin dlq replay --all` pages through the dead letters (500 at a
/// time) instead of loading them all, and says how far it got.
@Suite struct DeadLetterPagingTests {
    @Test func replayAllPagesThroughEveryDeadLetter() async throws {
        try await TestScene.run("dlq-paging") { scene in
            let region = scene.region
            let hub = try HubProcess.start(regions: scene.regions, dir: scene.directory)
            defer { hub.child.stop() }
            #expect(await hub.ready())
            let statuses = try await BlockingThread.value(name: "test-puts") {
                let probe = hub.probe()
                return try (0..<50).map { i in try probe.request("PUT", "/v1/contexts/c-\(i)", body: Array("{\"i\":\(i)}".utf8)).status }
            }
            #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")
            let conn = try scene.connection()
            var buffer = RedisCommandBuffer()
            for i in 0..<1_203 {
                // Three letters without a context id, spread over the pages: kept.
                var fields: [(String, [UInt8])] = [("dlq-kind", Array("permanent".utf8))]
                if i % 400 != 7 { fields.append(("ctx", Array("c-\(i % 50)".utf8))) }
                buffer.xadd(key: region.keys.deadLetters, fields: fields)
            }
            try conn.send(buffer)
            try conn.confirm(buffer.count)
            #expect(try conn.xlen(key: region.keys.deadLetters) == 1_203)
            let run = try await PaneCommand.run(
                ["admin", "dlq", "replay", "--region", region.name, "--all", "--redis", scene.redis.description, "--hub", "127.0.0.1:\(hub.port)"])
            #expect(run.status == 0, "\(run.output)")
            #expect(run.output.contains("page 1: 498 dead letters replayed so far, 2 kept"), "\(run.output)")
            #expect(run.output.contains("page 3:"), "\(run.output)")
            #expect(!run.output.contains("page 4:"), "\(run.output)")
            #expect(run.output.contains("replayed 1200 dead letters (50 contexts re-published from the hub)"), "\(run.output)")
            #expect(run.output.contains("kept 3 dead letters"), "\(run.output)")
            #expect(try conn.xlen(key: region.keys.deadLetters) == 3)
            // Again: only the three kept, one page.
            let again = try await PaneCommand.run(
                ["admin", "dlq", "replay", "--region", region.name, "--all", "--redis", scene.redis.description, "--hub", "127.0.0.1:\(hub.port)"])
            #expect(again.status == 0 && again.output.contains("replayed 0 dead letters") && again.output.contains("kept 3"), "\(again.output)")
        }
    }
}
