import PaneRedis
import Testing

/// The RESP encoding the publisher pipelines (pure; no Redis needed).
@Suite struct RedisCommandBufferTests {
    @Test func encodesEveryKindOfArgumentAsRESP() {
        var buffer = RedisCommandBuffer()
        buffer.beginXadd(key: StreamKey("pane:{r}:updates"), seq: 4711, suffix: "-0", fieldCount: 3)
        buffer.argument("")
        buffer.argument([UInt8]([0, 13, 10, 255]))
        buffer.argument("héllo".utf8)
        buffer.argument(-42)
        buffer.argument(0)
        buffer.argument(Int.min)
        let expected =
            "*9\r\n$4\r\nXADD\r\n$16\r\npane:{r}:updates\r\n$6\r\n4711-0\r\n$0\r\n\r\n$4\r\n\u{0}\r\n\u{FFFD}\r\n$6\r\nhéllo\r\n$3\r\n-42\r\n$1\r\n0\r\n$20\r\n-9223372036854775808\r\n"
        let got = buffer.bytes
        // Compare byte for byte (the 255 byte is not UTF-8: compare around it).
        var want = Array(expected.utf8)
        let marker = Array("\u{FFFD}".utf8)
        if let at = want.indices.first(where: { Array(want[$0..<min(want.count, $0 + marker.count)]) == marker }) {
            want.replaceSubrange(at..<(at + marker.count), with: [255])
        }
        #expect(got == want)
        #expect(buffer.count == 1)
        #expect(buffer.firstCommand == "XADD")
    }

    @Test func countsCommandsAndLargeLengths() {
        var buffer = RedisCommandBuffer()
        let big = [UInt8](repeating: 0x61, count: 12_345)
        for _ in 0..<3 {
            buffer.begin(arguments: 1)
            buffer.argument(big)
        }
        #expect(buffer.count == 3)
        #expect(buffer.bytes.count == 3 * ("*1\r\n$12345\r\n".utf8.count + 12_345 + 2))
    }
}
