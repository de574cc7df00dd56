import Foundation
import PaneApp
import PaneCore
import PaneRedis
import PaneRuntime
import PaneTestKit
import Testing

/// Issue 10, item 5: the region stream and the dead-letter stream are capped in bytes too
/// (`hub.retentionMaxBytes`, `dlq.maxBytes`), by Redis's estimate of their size.
@Suite struct ByteCapTests {
    @Test func theHubTrimsARegionStreamToItsByteCap() async throws {
        try await TestScene.run("bytecap") { scene in
            let region = scene.region
            let hub = try HubProcess.start(
                regions: scene.regions, dir: scene.directory, extra: ["--retention-max-bytes", "200000", "--log-level", "info"],
                environment: ProcessInfo.processInfo.environment.merging(["PANE_HUB_RETENTION_INTERVAL_MS": "200"]) { $1 })
            defer { hub.child.stop() }
            #expect(await hub.ready())
            let body = "{\"pad\":\"" + String(repeating: "x", count: 4_000) + "\"}"
            let statuses = try await BlockingThread.value(name: "test-puts") {
                let probe = hub.probe()
                return try (0..<200).map { i in try probe.request("PUT", "/v1/contexts/c-\(i)", body: Array(body.utf8)).status }
            }
            #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")
            let conn = try scene.connection()
            // 200 entries of about 4 KB are some 800 KB; the cap keeps about 200 KB of them.
            let key = region.keys.updates
            let trimmed = try await eventually(20) {
                let bytes = try conn.memoryUsage(key: key) ?? Int.max
                let length = try conn.xlen(key: key)
                return bytes <= 260_000 && length >= 20
            }
            let (length, bytes) = (try conn.xlen(key: key), try conn.memoryUsage(key: key))
            #expect(trimmed, "\(length) entries, \(String(describing: bytes)) bytes")
            #expect(hub.log().contains("reason=max-bytes"), "\(hub.log().suffix(1200))")
        }
    }

    @Test func aSpokeTrimsTheDeadLettersToTheirByteCap() async throws {
        try await TestScene.run("dlqbytes") { scene in
            let region = scene.region
            let conn = try scene.connection()
            let big = Array(String(repeating: "y", count: 2_000).utf8)
            var buffer = RedisCommandBuffer()
            for i in 0..<300 { buffer.xadd(key: region.keys.deadLetters, fields: [("ctx", Array("c-\(i)".utf8)), ("body", big)]) }
            try conn.send(buffer)
            try conn.confirm(buffer.count)
            let before = try conn.memoryUsage(key: region.keys.deadLetters) ?? 0
            #expect(before > 500_000)
            let spoke = try scene.spoke("a", extra: ["--consumer-idle-ms", "1000"], environment: ["PANE_DLQ_MAX_BYTES": "100000"])
            let key = region.keys.deadLetters
            let trimmed = try await eventually(20) {
                let bytes = try conn.memoryUsage(key: key) ?? 0
                let length = try conn.xlen(key: key)
                return bytes <= 140_000 && length > 10
            }
            let length = try conn.xlen(key: key)
            #expect(trimmed, "\(length) letters; \(spoke.log().suffix(1000))")
            #expect(spoke.log().contains("trimmed the dead-letter stream"))
        }
    }
}
