import Foundation
import GRDB
import PaneApp
import PaneCore
import PaneHub
import PaneRuntime
import PaneStore
import PaneTestKit
import Testing

/// Issue 12, item 4: `GET /v1/watch` against a real hub, real spokes and a real Redis.
@Suite struct WatchTests {
    /// The replica's live contexts under `prefix`, with their versions: what a watcher's view
    /// must equal.
    static func live(_ db: String, prefix: String) throws -> [String: Int64] {
        var out: [String: Int64] = [:]
        for (id, state) in try ReplicaStore(path: db).state() where !state.deleted && id.value.hasPrefix(prefix) {
            out[id.value] = state.version
        }
        return out
    }

    /// Opens a watch, retrying while the spoke is (re)starting.
    static func open(_ spoke: SpokeProcess, prefix: String, lastEventID: String? = nil) async throws -> WatchClient {
        try await BlockingThread.value(name: "test-watch-open") {
            var lastError: (any Error)?
            for _ in 0..<100 {
                do { return try WatchClient.open(port: spoke.port, prefix: prefix, lastEventID: lastEventID) } catch {
                    lastError = error
                    Thread.sleep(forTimeInterval: 0.1)
                }
            }
            throw lastError ?? WatchClientError("cannot open a watch")
        }
    }

    static func waitReady(_ spoke: SpokeProcess) async throws {
        let up = await eventually(30) { (try? spoke.probe().get("/healthz").status) == 200 }
        #expect(up, "the spoke did not start: \(spoke.log().suffix(500))")
    }

    static func body(_ i: Int) -> [UInt8] { Array(#"{"n":\#(i)}"#.utf8) }

    /// Three watchers on different prefixes during 20,000 writes with deletes; one reconnects
    /// with `Last-Event-ID` three times; the spoke is killed with `kill -9` and restarted mid-run
    /// (every watcher resumes on the new process). At the end each view equals the replica's
    /// state for its prefix, no position went backwards, and no resume was answered with `reset`.
    /// Then a forced resync repairs a damaged row and removes a row the hub never had: the
    /// watchers get both. A reconnect from a position of another replica file, or from one older
    /// than what the file can still tell, gets `reset` and a full transfer.
    @Test func watchersFollowEveryChangeThroughReconnectsACrashAndAResync() async throws {
        try await TestScene.withHub("watch", regions: ["watch"], resync: ResyncTests.quickResync()) { scene, hub in
            var spoke = try scene.spoke("a")
            try await Self.waitReady(spoke)
            let prefixes = ["a/", "b/", "c/"]
            for i in 0..<300 { _ = try await hub.store.put(id: try ContextID("\(prefixes[i % 3])k\(i)"), body: Self.body(i)) }
            var watchers: [String: WatchClient] = [:]
            for prefix in prefixes { watchers[prefix] = try await Self.open(spoke, prefix: prefix) }
            var resumes: [WatchClient] = []

            let total = 20_000
            let written = Locked(0)
            let writer = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for lane in 0..<4 {
                        group.addTask {
                            for i in stride(from: lane, to: total, by: 4) {
                                // Four prefixes (d/ has no watcher), 900 ids, every 9th write a delete.
                                let id = try ContextID("\(["a/", "b/", "c/", "d/"][i % 4])k\((i / 4) % 900)")
                                if i % 9 == 0 {
                                    _ = try await hub.store.delete(id: id)
                                } else {
                                    _ = try await hub.store.put(id: id, body: Self.body(i))
                                }
                                written.withLock { $0 += 1 }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            // b/ reconnects three times, at a quarter, a half (after the crash) and three quarters.
            for (step, mark) in [total / 4, total / 2, total * 3 / 4].enumerated() {
                _ = await eventually(120, poll: 0.02) { written.value >= mark }
                if step == 1 {
                    spoke.child.crash()
                    spoke = try scene.spoke("a")
                    for prefix in prefixes {
                        let old = try #require(watchers[prefix])
                        #expect(await eventually(10) { old.ended }, "the \(prefix) watch did not end with the spoke")
                        let resumed = try await Self.open(spoke, prefix: prefix, lastEventID: old.lastID)
                        resumed.continues(old)
                        watchers[prefix] = resumed
                        resumes.append(resumed)
                    }
                } else {
                    let old = try #require(watchers["b/"])
                    old.close()
                    #expect(await eventually(10) { old.ended })
                    let resumed = try await Self.open(spoke, prefix: "b/", lastEventID: old.lastID)
                    resumed.continues(old)
                    watchers["b/"] = resumed
                    resumes.append(resumed)
                }
            }
            try await writer.value
            try await scene.expectConverges(hub, spoke, seconds: 120)
            for prefix in prefixes {
                let watcher = try #require(watchers[prefix])
                let expected = try Self.live(spoke.db, prefix: prefix)
                #expect(expected.count > 100)
                let same = await eventually(30) { watcher.view == expected }
                #expect(same, "\(prefix): the watcher's view differs from the replica: \(Self.difference(watcher.view, expected))")
                #expect(watcher.backwards.isEmpty, "\(prefix): positions went backwards: \(watcher.backwards.prefix(3))")
            }
            for resumed in resumes {
                #expect(resumed.status == 200)
                #expect(resumed.count("reset") == 0, "a resume on the same replica file was answered with reset")
                #expect(resumed.backwards.isEmpty, "positions went backwards after a resume: \(resumed.backwards.prefix(3))")
            }

            // A damaged row and a row the hub never had, as the watchers saw them; then a
            // forced resync repairs the one and removes the other.
            let damaged = try #require(try Self.live(spoke.db, prefix: "a/").keys.sorted().first)
            try Self.damage(spoke.db, id: damaged, bogus: "a/bogus")
            let a = try #require(watchers["a/"])
            #expect(await eventually(10) { a.view["a/bogus"] != nil }, "the watcher did not see the damage")
            let admin = ResyncAdmin(region: scene.region, redis: scene.redis)
            _ = try await BlockingThread.value(name: "test-resync") { try admin.request(replica: "a", contexts: []) }
            let db = spoke.db
            let expected = try await BlockingThread.value(name: "test-wait") { () -> [String: Int64] in
                for _ in 0..<600 {
                    if let live = try? Self.live(db, prefix: "a/"), live["a/bogus"] == nil { return live }
                    Thread.sleep(forTimeInterval: 0.1)
                }
                return [:]
            }
            #expect(expected["a/bogus"] == nil && !expected.isEmpty, "the resync did not remove the bogus row")
            #expect(await eventually(30) { a.view == expected }, "after the resync: \(Self.difference(a.view, expected))")
            let repaired = a.events.last { $0.name == "put" && $0.data.contains("\"id\":\(JSONText.quote(damaged))") }
            let hubBody = try #require(try await hub.store.get(id: ContextID(damaged))?.body)
            let expectedBody = String(decoding: hubBody, as: UTF8.self)
            #expect(repaired?.data.contains(expectedBody) == true, "the repaired row's event: \(String(describing: repaired))")
            #expect(!(repaired?.data.contains("damaged") ?? true))

            // A position from another replica file: reset, then a full transfer.
            let stranger = try await Self.open(spoke, prefix: "c/", lastEventID: "w1.abc123.5")
            #expect(await eventually(30) { stranger.count("synced") == 1 })
            #expect(stranger.events.first?.name == "reset", "\(stranger.events.prefix(2))")
            #expect(stranger.events.first?.data.contains("another replica file") == true)
            #expect(stranger.view == (try Self.live(spoke.db, prefix: "c/")))

            // A position of this file older than what it can still tell (its log of removed rows
            // forgotten past it): reset too.
            let early = try #require(watchers["c/"]?.events.first { $0.name == "put" }?.id)
            let queue = try DatabaseQueue(path: spoke.db)
            try await queue.write { db in
                try db.execute(
                    sql: "UPDATE replica_state SET value = (SELECT value FROM replica_state WHERE name = 'change') WHERE name = 'removals_floor'")
            }
            let forgotten = try await Self.open(spoke, prefix: "c/", lastEventID: early)
            #expect(await eventually(30) { forgotten.count("synced") == 1 })
            #expect(forgotten.events.first?.name == "reset", "\(forgotten.events.prefix(2))")
            #expect(forgotten.events.first?.data.contains("older than") == true)
            #expect(forgotten.view == (try Self.live(spoke.db, prefix: "c/")))
            for watcher in Array(watchers.values) + [stranger, forgotten] { watcher.close() }
        }
    }

    /// Changes a live row's body and adds a row, each with a change number, as a damaged file
    /// would look to a watcher.
    static func damage(_ path: String, id: String, bogus: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "UPDATE replica_state SET value = value + 2 WHERE name = 'change'")
            let change = try Int64.fetchOne(db, sql: "SELECT value FROM replica_state WHERE name = 'change'") ?? 0
            try db.execute(sql: #"UPDATE contexts SET body = '{"damaged":1}', change = ? WHERE id = ?"#, arguments: [change - 1, id])
            try db.execute(
                sql: #"""
                    INSERT INTO contexts(id, version, deleted, body, hub_ts, applied_ts, seq, change)
                    VALUES (?, 1, 0, '{"bogus":1}', 0, 0, 1, ?)
                    """#,
                arguments: [bogus, change])
            // Each row that takes a change number is appended to the change log, as the apply does.
            try db.execute(sql: "INSERT INTO change_log(change, id) VALUES (?, ?), (?, ?)", arguments: [change - 1, id, change, bogus])
        }
    }

    static func difference(_ view: [String: Int64], _ expected: [String: Int64]) -> String {
        let missing = expected.filter { view[$0.key] != $0.value }.prefix(3)
        let extra = view.filter { expected[$0.key] == nil }.prefix(3)
        return "\(view.count) vs \(expected.count) contexts; differing \(Array(missing)); extra \(Array(extra))"
    }

    /// A watcher that does not read is cut off (log line, metric) while another watcher of the
    /// same prefix keeps receiving everything.
    @Test func aReaderThatDoesNotReadIsCutOff() async throws {
        try await TestScene.withHub("watchslow", regions: ["wslow"]) { scene, hub in
            // Long enough that the reading watcher, on a thread of a busy machine, is never cut
            // off (500 ms was not, in one CI run); the watcher that never reads still is.
            let spoke = try scene.spoke("a", environment: ["PANE_SPOKE_WATCH_WRITE_TIMEOUT_MS": "3000"])
            try await Self.waitReady(spoke)
            let slow = try await BlockingThread.value(name: "test-watch-open") {
                try WatchClient.open(port: spoke.port, prefix: "big/", read: false, receiveBuffer: 4_096)
            }
            let reader = try await Self.open(spoke, prefix: "big/")
            #expect(slow.status == 200)
            let pad = String(repeating: "x", count: 60_000)
            for i in 0..<300 { _ = try await hub.store.put(id: try ContextID("big/\(i % 50)"), body: Array(#"{"i":\#(i),"p":"\#(pad)"}"#.utf8)) }
            let cut = await eventually(60) { spoke.log().contains("watch cut off") }
            #expect(cut, "no cut-off in the log: \(spoke.log().suffix(800))")
            let metrics = try await BlockingThread.value(name: "test-metrics") { try spoke.probe().get("/metrics").text }
            #expect(metrics.contains("pane_spoke_watch_cutoffs_total"), "\(metrics.prefix(300))")
            // The replica may still be applying: compare with its state as it is at each poll.
            #expect(
                try await eventually(60) {
                    let expected = try Self.live(spoke.db, prefix: "big/")
                    return reader.view == expected && expected.count == 50
                }, "\(Self.difference(reader.view, (try? Self.live(spoke.db, prefix: "big/")) ?? [:]))")
            #expect(!reader.ended, "the reading watcher must not be cut off")
            reader.close()
            slow.close()
        }
    }

    /// `spoke.maxWatchers` caps the open watches: one more gets `503` naming the setting; a
    /// slot that frees up is taken again. Bad input gets clear errors.
    @Test func watchersAreCappedAndBadInputIsRefused() async throws {
        try await TestScene.withHub("watchcap", regions: ["wcap"]) { scene, _ in
            // A short idle timeout and progress interval: a watch is an answer in progress, never
            // cut as idle, and it sends progress while nothing changes.
            let spoke = try scene.spoke(
                "a", extra: ["--max-watchers", "2", "--http-idle-timeout-ms", "700"], environment: ["PANE_SPOKE_WATCH_PROGRESS_MS": "300"])
            try await Self.waitReady(spoke)
            let first = try await Self.open(spoke, prefix: "x/")
            let second = try await Self.open(spoke, prefix: "y/")
            #expect(first.status == 200 && second.status == 200)
            #expect(first.headers["content-type"] == "text/event-stream")
            let third = try await Self.open(spoke, prefix: "z/")
            #expect(third.status == 503)
            #expect(third.text.contains("spoke.maxWatchers"), "\(third.text)")
            first.close()
            let again = await eventually(10) {
                let client = try? WatchClient.open(port: spoke.port, prefix: "z/")
                defer { client?.close() }
                return client?.status == 200
            }
            #expect(again, "the freed slot was not given back")
            let garbage = try await BlockingThread.value(name: "test-watch-open") {
                try WatchClient.open(port: spoke.port, prefix: "x/", lastEventID: "not-a-position")
            }
            #expect(garbage.status == 400)
            #expect(garbage.text.contains("Last-Event-ID"), "\(garbage.text)")
            let json = try await BlockingThread.value(name: "test-watch-open") {
                try WatchClient.open(port: spoke.port, prefix: "x/", headers: ["Accept": "application/json"])
            }
            #expect(json.status == 406)
            #expect(json.text.contains("text/event-stream"))
            #expect(await eventually(10) { second.count("progress") >= 5 }, "\(second.events.suffix(3))")
            #expect(!second.ended, "the idle timeout cut a watch: \(second.endReason)")
            #expect(second.count("synced") == 1 && second.events.first?.name == "synced", "an empty prefix: synced at once")
            let metrics = try await BlockingThread.value(name: "test-metrics") { try spoke.probe().get("/metrics").text }
            #expect(metrics.contains("pane_spoke_watch_refused_total"), "\(metrics.prefix(300))")
            second.close()
        }
    }

    /// With a tokens file, a watch needs a `read` token: none gets `401`, a `write` token `403`.
    @Test func aWatchNeedsAReadToken() async throws {
        try await TestScene.withHub("watchauth", regions: ["wauth"]) { scene, _ in
            let tokens = try GeneratedTokens.create(at: scene.path("tokens"))
            let spoke = try scene.spoke("a", extra: ["--tokens-file", tokens.path])
            try await Self.waitReady(spoke)
            let (none, write, read) = try await BlockingThread.value(name: "test-watch-open") {
                (
                    try WatchClient.open(port: spoke.port, prefix: "x/"),
                    try WatchClient.open(port: spoke.port, prefix: "x/", headers: ["Authorization": "Bearer \(tokens.token(.write))"]),
                    try WatchClient.open(port: spoke.port, prefix: "x/", headers: ["Authorization": "Bearer \(tokens.token(.read))"])
                )
            }
            #expect(none.status == 401)
            #expect(write.status == 403, "\(write.text)")
            #expect(read.status == 200)
            #expect(await eventually(10) { read.count("synced") == 1 })
            read.close()
        }
    }

    /// SIGTERM to a spoke with open watchers: every stream is ended properly (the chunked body
    /// finished, not dropped) and the process exits 0 within seconds.
    @Test func aSpokeWithOpenWatchersStopsOnSIGTERM() async throws {
        try await TestScene.withHub("watchstop", regions: ["wstop"]) { scene, hub in
            let spoke = try scene.spoke("a")
            try await Self.waitReady(spoke)
            _ = try await hub.store.put(id: try ContextID("s/1"), body: Self.body(1))
            var watchers: [WatchClient] = []
            for prefix in ["s/", "t/", ""] { watchers.append(try await Self.open(spoke, prefix: prefix)) }
            #expect(await eventually(10) { watchers.allSatisfy { $0.count("synced") == 1 } })
            let (status, seconds) = try await BlockingThread.value(name: "test-stop") { () -> (Int32, Double) in
                let start = Date()
                let status = spoke.child.stop(timeout: 20)
                return (status, Date().timeIntervalSince(start))
            }
            #expect(status == 0, "exit status \(status): \(spoke.log().suffix(600))")
            #expect(seconds < 8, "the spoke took \(seconds) s to stop")
            #expect(await eventually(5) { watchers.allSatisfy(\.ended) })
            #expect(watchers.allSatisfy { $0.endReason == "finished" }, "\(watchers.map(\.endReason))")
        }
    }
}
