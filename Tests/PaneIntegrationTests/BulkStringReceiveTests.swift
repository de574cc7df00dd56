import Foundation
import PaneCore
import PaneRedis
import PaneRuntime
import PaneTestKit
import Testing

/// `RedisConnection.receiveBulkString` (a replica decodes each snapshot chunk in hiredis's reply
/// buffer, not in a copy) and `keepReadBuffer` (hiredis keeps its read buffer between large
/// replies). Real redis-server.
@Suite struct BulkStringReceiveTests {
    /// A pipeline of a large element, a missing one, a `WRONGTYPE` error and a small element: each
    /// reply is handed over in turn, the bytes exactly as stored, anything but a bulk string as
    /// `nil`, and the error does not throw, so the replies after it stay in step.
    @Test func aPipelineHandsOverEachBulkStringInPlaceAndAnythingElseAsNil() async throws {
        let key = ListKey("t-bulk-\(UUID().uuidString.prefix(8))")
        let notAList = "t-bulk-string-\(UUID().uuidString.prefix(8))"
        try await BlockingThread.value(name: "test-bulk") {
            let conn = try TestEnv.connection()
            defer { _ = try? conn.command(["DEL", RedisArgument(key), RedisArgument(notAList)]) }
            let large = (0..<700_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let small = Array("small".utf8)
            try conn.rpush(key: key, values: [large, small, []])
            _ = try conn.command(["SET", RedisArgument(notAList), RedisArgument("x")])
            var commands = RedisCommandBuffer()
            commands.lindex(key: key, index: 0)
            commands.lindex(key: key, index: 9)
            commands.lindex(key: ListKey(notAList), index: 0)
            commands.lindex(key: key, index: 1)
            commands.lindex(key: key, index: 2)
            try conn.send(commands)
            let got = try (0..<5).map { _ in try conn.receiveBulkString { $0.map { Array($0) } } }
            #expect(got[0] == large)
            #expect(got[1] == nil, "an index past the end")
            #expect(got[2] == nil, "WRONGTYPE comes as nil")
            #expect(got[3] == small)
            #expect(got[4] == [], "an empty element is there, and empty")
            // The connection is still in step: a plain command after the pipeline answers itself.
            #expect(try conn.llen(key: key) == 3)
        }
    }

    /// Large replies one after another with the read buffer kept, then with the default again:
    /// every reply arrives whole and in order either way.
    @Test func largeRepliesArriveWholeWithTheReadBufferKeptOrNot() async throws {
        let key = ListKey("t-bulk-keep-\(UUID().uuidString.prefix(8))")
        try await BlockingThread.value(name: "test-bulk-keep") {
            let conn = try TestEnv.connection()
            defer { _ = try? conn.command(["DEL", RedisArgument(key)]) }
            // Sizes that grow and shrink, so a kept buffer is both too small and too large.
            let sizes = [600_000, 40, 1_300_000, 17_000, 600_001]
            let elements = sizes.enumerated().map { i, size in [UInt8](repeating: UInt8(65 + i), count: size) }
            try conn.rpush(key: key, values: elements)
            for keep in [true, false, true] {
                conn.keepReadBuffer(keep)
                var commands = RedisCommandBuffer()
                for i in elements.indices { commands.lindex(key: key, index: i) }
                try conn.send(commands)
                for (i, element) in elements.enumerated() {
                    let same = try conn.receiveBulkString { bytes in bytes.map { $0.elementsEqual(element) } }
                    #expect(same == true, "element \(i), read buffer kept: \(keep)")
                }
            }
        }
    }
}
