import Foundation
import GRDB
import PaneApp
import PaneCore
import PaneReader
import PaneRuntime
import PaneStore
import PaneTestKit
import Testing

/// Issue 13, item 4: `POST /v1/batch`, one hub transaction and one stream entry per region,
/// applied atomically by every replica.
@Suite struct BatchWriteTests {
    static func batch(_ operations: [String]) -> [UInt8] { Array(("[" + operations.joined(separator: ",") + "]").utf8) }

    /// A real hub and spokes of two regions: batches with mixed regions and deletes reach every
    /// replica; the answer lists each operation's version and one position token.
    @Test func aBatchReachesEveryReplicaOfItsRegions() async throws {
        try await TestScene.run("batch-http", regions: ["bat0", "bat1"]) { scene in
            let (r0, r1) = (scene.regions[0], scene.regions[1])
            let hubProcess = try HubProcess.start(regions: scene.regions, dir: scene.directory)
            defer { hubProcess.child.stop() }
            let spokes = [try scene.spoke("a", region: r0), try scene.spoke("a", region: r1)]
            #expect(await hubProcess.ready())
            let hub = hubProcess.probe()
            let first = try hub.request(
                "POST", "/v1/batch",
                body: Self.batch(
                    (0..<20).map { #"{"op":"put","id":"b\#($0)","body":{"n":\#($0)}}"# } + [
                        #"{"op":"put","id":"only1","body":"x","regions":["\#(r1.name)"]}"#
                    ]))
            #expect(first.status == 200, "\(first.text)")
            #expect(first.text.hasPrefix(#"{"results":[{"id":"b0","version":1},"#), "\(first.text)")
            #expect(first.text.contains(#"{"id":"only1","version":1}]"#))
            let token = try #require(first.header("pane-index"))
            #expect(first.text.contains("\"index\":\"\(token)\""))
            let second = try hub.request(
                "POST", "/v1/batch",
                body: Self.batch([
                    #"{"op":"delete","id":"b3"}"#, #"{"op":"put","id":"b4","body":[4]}"#,
                    #"{"op":"delete","id":"b5","regions":["\#(r0.name)"]}"#, #"{"op":"put","id":"new","body":true}"#,
                ]))
            #expect(second.status == 200, "\(second.text)")
            #expect(second.text.contains(#"[{"id":"b3","version":2},{"id":"b4","version":2},{"id":"b5","version":2},{"id":"new","version":1}]"#))
            // A spoke reads its own write with the batch's token, once it listens (the batches
            // may be answered before a spoke started on a busy machine has bound its port).
            #expect(await eventually(30) { (try? spokes[1].probe().get("/healthz").status) == 200 }, "\(spokes[1].log())")
            let read = try spokes[1].probe(timeoutMs: 30_000).get("/v1/contexts/only1?wait=20s", headers: ["Pane-Min-Index": token])
            #expect(read.status == 200 && read.text.contains("\"body\":\"x\""), "\(read.text)")

            let store = try HubStore(path: hubProcess.db, regions: scene.regions)
            #expect(try await eventually(30) { try store.outboxDepth().values.allSatisfy { $0 == 0 } })
            for spoke in spokes {
                let convergence = try await Convergence.wait(hub: store, region: spoke.region, db: spoke.db, alive: spokes, seconds: 60)
                #expect(convergence.converged, "\(convergence)")
            }
            #expect(try store.state(of: r0)[try ContextID("only1")] == nil)
            #expect(try store.state(of: r1)[try ContextID("b5")]?.deleted == false, "b5 was deleted in r0 only")
            #expect(try store.state(of: r0)[try ContextID("b5")]?.deleted == true)
            // One seq, and so one stream entry, per region per batch: two batches, seqs 1 and 2 in
            // each region. (The stream itself cannot be counted: the hub trims what every replica
            // applied.)
            for region in [r0, r1] {
                #expect(try store.lastSeq(region: region) == 2, "\(region)")
            }
        }
    }

    /// A bad operation refuses the whole batch with an error naming its index; nothing of it is
    /// written, in the hub or any stream.
    @Test func aBadOperationRefusesTheWholeBatch() async throws {
        try await TestScene.run("batch-refused") { scene in
            let hubProcess = try HubProcess.start(regions: scene.regions, dir: scene.directory)
            defer { hubProcess.child.stop() }
            #expect(await hubProcess.ready())
            let hub = hubProcess.probe()
            #expect(try hub.request("PUT", "/v1/contexts/kept", body: Array("1".utf8)).status == 200)
            #expect(try hub.request("PUT", "/v1/contexts/gone", body: Array("1".utf8)).status == 200)
            #expect(try hub.request("DELETE", "/v1/contexts/gone").status == 200)
            let cases: [(String, [String], Int, String)] = [
                ("bad body", [#"{"op":"put","id":"n1","body":1}"#, #"{"op":"put","id":"n2","body":2}"#, #"{"op":"put","id":"n3","body":{x}}"#],
                 400, #""index":2"#),
                ("unknown region", [#"{"op":"put","id":"n1","body":1}"#, #"{"op":"put","id":"n2","body":2,"regions":["nowhere"]}"#], 400,
                 #""index":1"#),
                ("delete of an unknown context", [#"{"op":"put","id":"n1","body":1}"#, #"{"op":"delete","id":"never"}"#], 404, #""index":1"#),
                ("delete of a deleted context",
                 [#"{"op":"put","id":"n1","body":1}"#, #"{"op":"put","id":"n2","body":2}"#, #"{"op":"delete","id":"gone"}"#], 404, #""index":2"#),
                ("duplicate id", [#"{"op":"put","id":"n1","body":1}"#, #"{"op":"delete","id":"n1"}"#], 400, #""index":1"#),
            ]
            for (name, operations, status, index) in cases {
                let reply = try hub.request("POST", "/v1/batch", body: Self.batch(operations))
                #expect(reply.status == status && reply.text.contains(index), "\(name): \(reply.status) \(reply.text)")
                #expect(reply.text.contains("operation \(index.last.map(String.init) ?? "")"), "\(name): \(reply.text)")
            }
            let notAList = try hub.request("POST", "/v1/batch", body: Array(#"{"operations":[]}"#.utf8))
            #expect(notAList.status == 400 && notAList.text.contains("expected a JSON list") && !notAList.text.contains("\"index\""))
            let huge = try hub.request("POST", "/v1/batch", body: Array(repeating: UInt8(ascii: " "), count: (4 << 20) + 1))
            #expect(huge.status == 413 && huge.text.contains("http.batchMaxBytes"), "\(huge.text)")
            for id in ["n1", "n2", "n3"] { #expect(try hub.get("/v1/contexts/\(id)").status == 404) }
            #expect(try hub.get("/v1/contexts/kept").text.contains("\"version\":1"))
            let store = try HubStore(path: hubProcess.db, regions: scene.regions)
            #expect(try store.lastSeq(region: scene.region) == 3, "only the single PUTs and DELETE took seqs")
        }
    }

    /// Batches set 40 contexts to one new version each while an embedded reader polls the spoke's
    /// file: every read sees all of a batch or none of it.
    @Test func aReaderNeverSeesPartOfABatch() async throws {
        try await TestScene.withHub("batch-atomic") { scene, hub in
            let spoke = try scene.spoke()
            let ids = try (0..<40).map { try ContextID("atom-\($0)") }
            func round(_ k: Int) -> [BatchOperation] { ids.map { BatchOperation(op: .put, id: $0, body: Array("{\"k\":\(k)}".utf8)) } }
            _ = try await hub.store.batch(round(0))
            #expect(await eventually(30) { (try? spoke.probe().get("/v1/contexts/atom-39").status) == 200 })
            let reader = try PaneReader(path: spoke.db)
            let done = Locked(false)
            let polling = Task {
                try await BlockingThread.value(name: "test-batch-reader") { () -> (reads: Int, torn: [String]) in
                    var reads = 0
                    var torn: [String] = []
                    while !done.value {
                        let page = try reader.list(prefix: "atom-", limit: 1_000)
                        let versions = Set(page.map(\.version))
                        if page.count != ids.count || versions.count != 1 { torn.append("\(page.count) ids, versions \(versions.sorted())") }
                        reads += 1
                    }
                    return (reads, torn)
                }
            }
            for k in 1...150 { _ = try await hub.store.batch(round(k)) }
            #expect(await eventually(30) { (try? reader.get(ids[0])?.version) == 151 })
            done.withLock { $0 = true }
            let outcome = try await polling.value
            #expect(outcome.torn.isEmpty, "\(outcome.torn.prefix(5))")
            #expect(outcome.reads > 20, "the reader polled during the batches: \(outcome.reads) reads")
            try await scene.expectConverges(hub, spoke)
        }
    }

    /// A replica applies a batch entry again (a redelivery) or an older entry after it: nothing
    /// changes; each operation follows the per-context version rule.
    @Test func reapplyingABatchEntryChangesNothing() async throws {
        try await TestScene.run("batch-reapply") { scene in
            let store = try ReplicaStore(path: scene.replicaPath())
            let (a, b) = (try ContextID("a"), try ContextID("b"))
            func entry(seq: UInt64, _ operations: [(ContextOp, ContextID, Int64, String)]) -> ContextUpdate {
                let rows = operations.map { ContextUpdate(seq: seq, id: $0.1, version: $0.2, op: $0.0, body: Array($0.3.utf8), hubTimeUs: 1_000) }
                return ContextUpdate(
                    seq: seq, id: rows[0].id, version: rows.map(\.version).max() ?? 1, op: .batch,
                    body: BatchEntryCodec.encode(rows.map { ($0.op, $0.id, $0.version, $0.body) }), hubTimeUs: 1_000, operations: rows)
            }
            let first = entry(seq: 2, [(.put, a, 3, "1"), (.put, b, 1, "2")])
            #expect(try store.apply([first]).applied == 1)
            #expect(try store.apply([first]).applied == 0)
            // An older single write of `a` and a batch with an older `a` and a newer `b` delete.
            _ = try store.apply([ContextUpdate(seq: 1, id: a, version: 2, op: .put, body: Array("0".utf8), hubTimeUs: 1)])
            #expect(try store.apply([entry(seq: 3, [(.put, a, 1, "9"), (.del, b, 2, "")])]).applied == 1)
            let state = try store.state()
            #expect(state[a] == VersionState(version: 3, deleted: false))
            #expect(state[b] == VersionState(version: 2, deleted: true))
            let ranges = try store.appliedRanges()
            #expect(ranges.ranges.count == 1 && ranges.ranges.last?.upperBound == 3, "\(ranges)")
        }
    }

    /// A batch entry the replica cannot apply (SQLite refuses one of its rows) is applied not at
    /// all, retried, dead-lettered whole; `pane admin dlq replay` republishes every context it named.
    @Test func aDeadLetteredBatchIsReplayedWhole() async throws {
        try await TestScene.run("batch-dlq") { scene in
            let (region, redis) = (scene.region, scene.redis.description)
            let hubProcess = try HubProcess.start(regions: scene.regions, dir: scene.directory)
            defer { hubProcess.child.stop() }
            let spoke = try scene.spoke("a", extra: ["--max-deliveries", "2"])
            #expect(await hubProcess.ready())
            let hub = hubProcess.probe()
            #expect(try hub.request("PUT", "/v1/contexts/seed", body: Array("1".utf8)).status == 200)
            #expect(await eventually(20) { (try? spoke.probe().get("/v1/contexts/seed").status) == 200 })
            let queue = try DatabaseQueue(path: spoke.db)
            try await queue.write { db in
                try db.execute(sql: "CREATE TRIGGER refuse_d2 BEFORE INSERT ON contexts WHEN NEW.id = 'd2' BEGIN SELECT RAISE(ABORT, 'injected failure for d2'); END")
            }
            let reply = try hub.request("POST", "/v1/batch", body: Self.batch((0..<5).map { #"{"op":"put","id":"d\#($0)","body":\#($0)}"# }))
            #expect(reply.status == 200, "\(reply.text)")
            let letter = try await scene.onlyDeadLetter(seconds: 30, log: spoke.log().suffix(1500).description)
            #expect(letter["op"] == "batch" && letter["dlq-kind"] == "transient", "\(letter)")
            try await queue.write { db in try db.execute(sql: "DROP TRIGGER refuse_d2") }
            let replay = try await PaneCommand.run(
                ["admin", "dlq", "replay", "--region", region.name, "--all", "--redis", redis, "--hub", "127.0.0.1:\(hubProcess.port)"])
            #expect(replay.status == 0, "\(replay.output)")
            let store = try HubStore(path: hubProcess.db, regions: scene.regions)
            let convergence = try await Convergence.wait(hub: store, region: region, db: spoke.db, alive: [spoke], seconds: 60)
            #expect(convergence.converged, "\(convergence)")
        }
    }
}
