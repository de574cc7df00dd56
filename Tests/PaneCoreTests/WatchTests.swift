import PaneCore
import Testing

/// The pure parts of the watch: positions, where a watch starts, which deletions a transfer
/// sends, the cut-off rule and the events on the wire.
@Suite struct WatchCoreTests {
    let log = WatchStart.Log(file: "5eed", change: 1_000, floor: 200)

    @Test func positionsRoundTrip() throws {
        let position = WatchPosition(file: "5eed", change: 42)
        #expect(position.encoded == "w1.5eed.42")
        #expect(try WatchPosition(parsing: position.encoded, input: "Last-Event-ID") == position)
        // The stored id is a random positive 63-bit number; negative bit patterns print as hex too.
        #expect(WatchPosition(fileID: 0x7FFF_FFFF_FFFF_FFFF, change: 0).file == "7fffffffffffffff")
        #expect(WatchPosition(fileID: -1, change: 0).file == "ffffffffffffffff")
    }

    @Test(arguments: ["", "w1.", "w2.5eed.1", "w1.5eed", "w1.5EED.1", "w1.5eed.-1", "w1.5eed.1.2", "w1..1", "w1.5eed.x",
        "w1.12345678901234567.1", "w1.5eed.99999999999999999999", "p1.abc"])
    func badPositionsAreNamed(text: String) {
        #expect(throws: ValidationError.self) { try WatchPosition(parsing: text, input: "Last-Event-ID") }
        do { _ = try WatchPosition(parsing: text, input: "Last-Event-ID") } catch { #expect(error.description.contains("Last-Event-ID")) }
    }

    @Test func aWatchStartsFreshResumesOrResets() {
        #expect(WatchStart.decide(nil, log: log) == .fresh)
        #expect(WatchStart.decide(WatchPosition(file: "5eed", change: 500), log: log) == .resume(after: 500))
        // The edges: the floor itself and the counter itself can be resumed.
        #expect(WatchStart.decide(WatchPosition(file: "5eed", change: 200), log: log) == .resume(after: 200))
        #expect(WatchStart.decide(WatchPosition(file: "5eed", change: 1_000), log: log) == .resume(after: 1_000))
        guard case .reset(let other) = WatchStart.decide(WatchPosition(file: "beef", change: 500), log: log) else {
            Issue.record("another file must reset")
            return
        }
        #expect(other.contains("another replica file"))
        guard case .reset(let old) = WatchStart.decide(WatchPosition(file: "5eed", change: 199), log: log) else {
            Issue.record("below the floor must reset")
            return
        }
        #expect(old.contains("older than"))
        guard case .reset(let ahead) = WatchStart.decide(WatchPosition(file: "5eed", change: 1_001), log: log) else {
            Issue.record("ahead of the log must reset")
            return
        }
        #expect(ahead.contains("ahead"))
    }

    @Test func aTransferLeavesOutOnlyDeletionsFromBeforeIt() {
        #expect(!WatchFeedRule.sendsDeletion(change: 10, transferFrom: 10))
        #expect(!WatchFeedRule.sendsDeletion(change: 3, transferFrom: 10))
        #expect(WatchFeedRule.sendsDeletion(change: 11, transferFrom: 10))
        #expect(WatchFeedRule.sendsDeletion(change: 3, transferFrom: nil))
        #expect(!WatchFeedRule.cutsOff(pendingMs: 9_999, limitMs: 10_000))
        #expect(WatchFeedRule.cutsOff(pendingMs: 10_000, limitMs: 10_000))
    }

    @Test func eventsAreServerSentEvents() {
        let at = WatchPosition(file: "5eed", change: 7)
        let put = WatchEvent.put(id: "tenant/\"acme\"", version: 3, body: Array("{\"a\":\n1}".utf8), position: at)
        #expect(
            String(decoding: put.serverSentEvent(), as: UTF8.self)
                == "event: put\nid: w1.5eed.7\ndata: {\"id\":\"tenant/\\\"acme\\\"\",\"version\":3,\"body\":{\"a\": 1}}\n\n")
        let delete = WatchEvent.delete(id: "x", version: 4, position: at)
        #expect(String(decoding: delete.serverSentEvent(), as: UTF8.self) == "event: delete\nid: w1.5eed.7\ndata: {\"id\":\"x\",\"version\":4}\n\n")
        let synced = WatchEvent.synced(position: at)
        #expect(String(decoding: synced.serverSentEvent(index: "p1.abc"), as: UTF8.self)
            == "event: synced\nid: w1.5eed.7\ndata: {\"position\":\"w1.5eed.7\",\"index\":\"p1.abc\"}\n\n")
        #expect(String(decoding: WatchEvent.progress(position: at).serverSentEvent(), as: UTF8.self).contains("\"index\":null"))
        let reset = WatchEvent.reset(reason: "gone")
        #expect(String(decoding: reset.serverSentEvent(), as: UTF8.self) == "event: reset\ndata: {\"reason\":\"gone\"}\n\n")
        #expect(reset.position == nil)
        #expect(put.position == at)
    }
}
