import Foundation
import PaneCore
import PaneHTTP
import PaneRuntime
import PaneSpoke
import PaneTestKit
import Testing

/// Issue 13, item 2: the point read writes its answer straight into the response buffer and
/// copies freshness headers built once per change. The answers must stay what they were.
@Suite struct SpokeReadAnswerTests {
    /// The point read's body as the route wrote it before issue 13 (an array, then a copy).
    static func oldPointBody(_ stored: StoredContext, staleReason: String?) -> [UInt8] {
        var out = Array("{\"id\":\(JSONText.quote(stored.id)),\"version\":\(stored.version),\"body\":".utf8)
        out += stored.body
        out += Array(",\"updatedAt\":\"".utf8)
        JSONText.appendISO8601(ms: stored.updatedAtMs, to: &out)
        out.append(UInt8(ascii: "\""))
        if let reason = staleReason {
            out += Array(",\"stale\":true,\"staleReason\":\(JSONText.quote(reason))".utf8)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Ids and stale reasons with and without escapes cover `ByteBuffer.writeJSONString` too.
    @Test func thePointBodyIsByteIdenticalToTheOldOne() {
        let ids = ["k", "tenant/acme/settings", "quote\"d", "back\\slash", "tab\there", "nul\u{0}x", "ünï/çødé", "emoji 🙂", String(repeating: "x", count: 300)]
        let bodies: [[UInt8]] = [Array("{}".utf8), Array(#"{"plan":"pro","n":[1,2,3]}"#.utf8), Array(repeating: UInt8(ascii: "7"), count: 5_000)]
        let times: [Int64] = [0, 1_764_547_200_123, 253_402_300_799_999, -1, -86_400_001, 253_402_300_800_000]
        let reasons: [String?] = [nil, "a dead-lettered update", "bad \"entry\"\n"]
        var compared = 0
        for (i, id) in ids.enumerated() {
            for body in bodies {
                for time in times {
                    for reason in reasons {
                        let stored = StoredContext(id: id, version: Int64(i) * 1_000_003 + 1, deleted: false, body: body, updatedAtMs: time)
                        let new = SpokeHTTP.pointBody(stored, staleReason: reason)
                        let old = Self.oldPointBody(stored, staleReason: reason)
                        #expect(Array(new.readableBytesView) == old, "\(id) \(time) \(String(describing: reason))")
                        compared += 1
                    }
                }
            }
        }
        #expect(compared == ids.count * bodies.count * times.count * reasons.count)
    }

    /// The freshness and position headers follow each change: a new version moves
    /// `Pane-Replica-Seq`, `Pane-Index` and the ETag; the answer's header order is the old one.
    @Test func freshnessHeadersFollowTheReplica() async throws {
        try await TestScene.withHub("answer") { scene, hub in
            let spoke = try scene.spoke("a")
            _ = try await hub.store.put(id: try ContextID("k"), body: Array(#"{"v":1}"#.utf8))
            // A 404 carries the position headers too: wait for the context itself.
            #expect(await eventually(30) { (try? spoke.probe().get("/v1/contexts/k").header("etag")) == "\"1\"" })
            let first = try spoke.probe().get("/v1/contexts/k")
            _ = try await hub.store.put(id: try ContextID("k"), body: Array(#"{"v":2}"#.utf8))
            #expect(await eventually(30) { (try? spoke.probe().get("/v1/contexts/k").header("etag")) == "\"2\"" })
            let second = try spoke.probe().get("/v1/contexts/k")
            #expect(first.header("etag") == "\"1\"" && second.header("etag") == "\"2\"")
            let seqs = [first, second].compactMap { $0.header("pane-replica-seq").flatMap { UInt64($0) } }
            #expect(seqs.count == 2 && seqs[1] > seqs[0], "\(seqs)")
            #expect(first.header("pane-index") != second.header("pane-index"))
            #expect(second.header("pane-source") == "replica")
            #expect(second.header("pane-contact-age-ms").flatMap { Int64($0) }.map { $0 >= 0 && $0 < 60_000 } == true)
            #expect(second.text.hasPrefix("{\"id\":\"k\",\"version\":2,\"body\":{\"v\":2},\"updatedAt\":\""), "\(second.text)")
            // The order the route always wrote them in, then Hummingbird's own.
            let port = spoke.port
            let raw = try await BlockingThread.value(name: "test-answer-order") { () -> String in
                let conn = try HTTPBoundsTests.RawConnection(port: port)
                conn.send("GET /v1/contexts/k HTTP/1.1\r\nHost: x\r\n\r\n")
                return conn.read(seconds: 5).text
            }
            let names = raw.components(separatedBy: "\r\n").dropFirst().compactMap { line in
                line.split(separator: ":", maxSplits: 1).first.map { $0.lowercased() }
            }.filter { $0.hasPrefix("pane-") || $0 == "etag" || $0 == "content-type" }
            #expect(names == ["pane-replica-seq", "pane-contact-age-ms", "pane-index", "pane-source", "etag", "content-type"], "\(names)")
            let missing = try spoke.probe().get("/v1/contexts/nope")
            #expect(missing.status == 404 && missing.header("pane-replica-seq") == second.header("pane-replica-seq"))
        }
    }
}
