import Foundation
import Logging
import PaneApp
import Synchronization
import Testing

/// Issue 13, item 2: metadata is formatted when a line is written, not when a key is set; the
/// lines stay what swift-log's `StreamLogHandler` writes.
@Suite struct LogHandlerTests {
    final class Lines: TextOutputStream, @unchecked Sendable {
        let text = Mutex("")
        func write(_ string: String) { text.withLock { $0 += string } }
    }

    /// A line without its timestamp (the first field), which differs by the second.
    static func untimed(_ text: String) -> [String] {
        text.split(separator: "\n").map { $0.split(separator: " ", maxSplits: 1).dropFirst().joined() }
    }

    @Test func linesMatchStreamLogHandler() {
        let lazy = Lines()
        let stream = Lines()
        var a = Logger(label: "pane-spoke", factory: { label in LazyMetadataLogHandler(label: label, level: .info, output: lazy) })
        var b = Logger(label: "pane-spoke", factory: { label in StreamLogHandler(label: label, stream: stream) })
        for logger in [a, b] {
            logger.info("no metadata")
            logger.debug("below the level")
        }
        a[metadataKey: "hb.request.id"] = "7f"
        b[metadataKey: "hb.request.id"] = "7f"
        // As Hummingbird sets `hb.request.id` on each request's logger.
        a[metadataKey: "region"] = .stringConvertible(3)
        b[metadataKey: "region"] = .stringConvertible(3)
        for logger in [a, b] {
            logger.warning("with metadata", metadata: ["server": "pane-spoke", "closed": "2"])
            logger.error("again", metadata: ["list": ["a", "b"]])
        }
        let lines = Self.untimed(lazy.text.withLock { $0 })
        #expect(lines.count == 3)
        #expect(lines == Self.untimed(stream.text.withLock { $0 }))
        #expect(lines.last?.contains("hb.request.id=7f") == true && lines.last?.contains("region=3") == true, "\(lines)")
        #expect(a[metadataKey: "region"]?.description == "3")
    }
}
