import PaneCore
import Testing

/// The rules that keep forged stream entries from hurting a replica: entry ids, `snap`
/// announcements, the hub's resync throttle and the replica's lag.
@Suite struct EntryIDRuleTests {
    func kind(_ id: String, hubSeq: UInt64? = nil, margin: UInt64 = 0) -> EntryError.Kind? {
        do {
            _ = try EntryIDRule.validate(id, hubSeq: hubSeq, margin: margin)
            return nil
        } catch { return error.kind }
    }

    @Test func theHubsIdsPass() throws {
        #expect(try EntryIDRule.validate("1-0", hubSeq: 1) == 1)
        #expect(try EntryIDRule.validate("42-0", hubSeq: 100) == 42)
        #expect(try EntryIDRule.validate("42-0", hubSeq: nil) == 42)
        #expect(try EntryIDRule.seq(of: "9223372036854775807-0") == UInt64(Int64.max))
    }

    @Test func anIdThatIsNotSeqDashZeroIsRefused() {
        for id in ["0-0", "-0", "42-1", "42", "x-0", "4 2-0", "", "1700000000000-3", "+5-0"] {
            #expect(kind(id) == .badEntryID, "\(id)")
        }
    }

    /// `9223372036854775808-0` is a valid Redis id that crashed the replica store before.
    @Test func aSeqThatDoesNotFitSignedSixtyFourBitsIsRefused() {
        #expect(kind("9223372036854775808-0") == .seqOutOfRange)
        #expect(kind("18446744073709551615-0") == .seqOutOfRange)
        #expect(kind("99999999999999999999999-0") == .seqOutOfRange)
        #expect(StreamEntryCodec.seq(fromEntryID: "9223372036854775808-0") == nil)
        #expect(StreamEntryCodec.seq(fromEntryID: "9223372036854775807-0") == UInt64(Int64.max))
        var detail = ""
        do throws(EntryError) { _ = try EntryIDRule.seq(of: "9223372036854775808-0") } catch { detail = error.detail }
        #expect(detail.contains("does not fit a signed 64-bit integer"))
    }

    /// `XADD … *` makes a millisecond id, far above any region's seqs.
    @Test func aSeqBeyondTheHubsHighestSeqIsRefused() {
        #expect(kind("1764550000000-0", hubSeq: 500) == .seqBeyondHub)
        #expect(kind("501-0", hubSeq: 500) == .seqBeyondHub)
        #expect(kind("500-0", hubSeq: 500) == nil)
        #expect(kind("510-0", hubSeq: 500, margin: 10) == nil)
        #expect(kind("511-0", hubSeq: 500, margin: 10) == .seqBeyondHub)
        #expect(kind("9223372036854775807-0", hubSeq: .max, margin: 10) == nil)
    }

    @Test func decodingRefusesTheOverflowingSeqNamingTheId() throws {
        let update = ContextUpdate(seq: 1, id: try ContextID("x"), version: 1, op: .put, body: Array("{}".utf8), hubTimeUs: 1)
        #expect {
            _ = try StreamEntryCodec.decode(entryID: "9223372036854775808-0", fields: StreamEntryCodec.encode(update), rules: BodyRules())
        } throws: { error in
            (error as? EntryError)?.kind == .seqOutOfRange && (error as? EntryError)?.field == "id"
        }
    }

    /// A snapshot chunk is in Redis too: a row whose seq the store cannot hold is refused.
    @Test func aSnapshotRowWithAnOverflowingSeqIsRefused() throws {
        let row = SnapshotRow(id: try ContextID("x"), version: 1, deleted: false, body: Array("{}".utf8), hubTimeMs: 1, seq: 1 << 63, bodyMissing: false)
        #expect {
            _ = try SnapshotChunkCodec.decode(SnapshotChunkCodec.encode([row]))
        } throws: { error in
            (error as? EntryError)?.kind == .seqOutOfRange
        }
        var fine = row
        fine.seq = UInt64(Int64.max)
        #expect(try SnapshotChunkCodec.decode(SnapshotChunkCodec.encode([fine])) == [fine])
    }

    @Test func streamIdsCompareAsPairs() {
        #expect(EntryIDRule.isAfter("1764550000000-0", "42-0"))
        #expect(EntryIDRule.isAfter("42-1", "42-0"))
        #expect(!EntryIDRule.isAfter("42-0", "42-0"))
        #expect(!EntryIDRule.isAfter("9-0", "10-0"))
        #expect(EntryIDRule.isAfter("9223372036854775808-0", "10-0"))
        #expect(!EntryIDRule.isAfter("nonsense", "10-0"))
    }
}

@Suite struct GapDetectorHubSeqTests {
    func observe(now: Int64, delivered: UInt64, top: UInt64, hubSeq: UInt64?) -> GapDetector.Observation {
        .init(
            nowMs: now, watermark: 100, databaseEmpty: false, stream: .init(length: 100, firstSeq: 1, topSeq: top),
            groupLastDelivered: delivered, nextPending: false, deletedPending: 0, stale: [], inFlight: nil, hubSeq: hubSeq)
    }

    /// A foreign entry far past the hub's seqs lifted the top and the group's position: with the
    /// hub's seq known that is no gap; without it, it would be one.
    @Test func aGroupPastTheHubsSeqIsNoGap() {
        var detector = GapDetector()
        for now in stride(from: Int64(0), through: 10_000, by: 1_000) {
            #expect(detector.decide(observe(now: now, delivered: 1_764_550_000_000, top: 1_764_550_000_000, hubSeq: 100)) == .healthy)
        }
        var blind = GapDetector()
        _ = blind.decide(observe(now: 0, delivered: 1_764_550_000_000, top: 1_764_550_000_000, hubSeq: nil))
        #expect(blind.decide(observe(now: 5_000, delivered: 1_764_550_000_000, top: 1_764_550_000_000, hubSeq: nil)) != .healthy)
        // Behind the hub's seq, the stall is still a gap.
        var behind = GapDetector()
        _ = behind.decide(observe(now: 0, delivered: 1_764_550_000_000, top: 1_764_550_000_000, hubSeq: 120))
        if case .resync(.seqGap, _, _) = behind.decide(observe(now: 5_000, delivered: 1_764_550_000_000, top: 1_764_550_000_000, hubSeq: 120)) {
        } else {
            Issue.record("a watermark stalled below the hub's seq is a gap")
        }
    }
}

@Suite struct SnapshotGuardTests {
    let replica = try! ReplicaName("a")
    let key = "pane:{r}:snapshot:77"

    func announcement(seq: UInt64 = 10, replicas: [String]? = ["a"], requestIDs: [String] = ["a-1"], key: String? = nil) -> SnapshotAnnouncement {
        SnapshotAnnouncement(
            key: key ?? self.key, epoch: 77, seq: seq, chunks: 0, rows: 0, replicas: replicas, buckets: nil, requestIDs: requestIDs, reason: "seq-gap")
    }

    func check(_ a: SnapshotAnnouncement, entrySeq: UInt64 = 11, known: Set<String> = ["a-1"]) -> SnapshotGuard.Verdict {
        SnapshotGuard.check(a, entrySeq: entrySeq, replica: replica, expectedKey: key, known: known)
    }

    func refused(_ verdict: SnapshotGuard.Verdict, containing text: String) -> Bool {
        if case .refuse(let error) = verdict { return error.kind == .refusedSnapshot && error.detail.contains(text) }
        return false
    }

    @Test func anAnswerToOurRequestIsApplied() {
        #expect(check(announcement()) == .apply)
        #expect(check(announcement(replicas: nil, requestIDs: ["admin-1", "a-1"])) == .apply)
    }

    @Test func anotherReplicasSnapshotIsOnlyRecorded() {
        #expect(check(announcement(replicas: ["b"]), known: []) == .notForThisReplica)
    }

    @Test func anAnnouncementNobodyHereAskedForIsRefused() {
        #expect(refused(check(announcement(requestIDs: ["forged"])), containing: "answers no resync request"))
        #expect(refused(check(announcement(replicas: nil, requestIDs: [])), containing: "answers no resync request"))
    }

    @Test func anAnnouncementClaimingTheFutureIsRefused() {
        #expect(refused(check(announcement(seq: 11), entrySeq: 11), containing: "not below its own entry's seq 11"))
        #expect(refused(check(announcement(seq: 9_000_000_000), entrySeq: 11), containing: "claims seq 9000000000"))
    }

    @Test func anotherKeyIsRefused() {
        #expect(refused(check(announcement(key: "pane:{other}:snapshot:77")), containing: "is not the region's key"))
    }
}

@Suite struct ResyncThrottleTests {
    func request(_ id: String, replica: String? = "a", buckets: [Int]? = nil) -> ResyncRequest {
        ResyncRequest(requestID: id, replica: replica, reason: "seq-gap", buckets: buckets)
    }

    @Test func oneReplicaHasOnePendingResyncAtATime() {
        var throttle = ResyncThrottle()
        #expect(throttle.admit([request("a-1")], done: [:], nowMs: 0).serve.map(\.requestID) == ["a-1"])
        #expect(throttle.pendingReplicas == ["a"])
        // A flood for the same replica waits; only the latest few are kept.
        var admission = throttle.admit((2...20).map { request("a-\($0)") }, done: [:], nowMs: 1_000)
        #expect(admission.serve.isEmpty)
        #expect(admission.waiting == 8)
        #expect(admission.held == 8)
        #expect(admission.dropped.count == 11)
        #expect(admission.waitReason == "a resync is pending for the replica")
        // Another replica is served meanwhile.
        #expect(throttle.admit([request("b-1", replica: "b")], done: [:], nowMs: 1_100).serve.map(\.requestID) == ["b-1"])
        // The replica reports the first done: the waiting ones go out together.
        admission = throttle.admit([], done: ["a": ["a-1"]], nowMs: 2_000)
        #expect(admission.serve.map(\.requestID) == (13...20).map { "a-\($0)" })
        #expect(!throttle.hasWaiting)
    }

    /// A flood in a real replica's name: the snapshot served for it answers forged requests, so
    /// the replica refuses it and asks again. Its heartbeat names that request: the pending
    /// resync no longer holds it back, and when the flood pushed it out, it is served anyway.
    @Test func aReplicaWaitingForItsOwnRequestIsServedDespiteAFloodInItsName() {
        var throttle = ResyncThrottle()
        #expect(throttle.admit([request("forged-0")], done: [:], nowMs: 0).serve.map(\.requestID) == ["forged-0"])
        // The replica's own request arrives, then the flood pushes it out of the kept eight.
        var admission = throttle.admit([request("a-own")] + (1...20).map { request("forged-\($0)") }, done: [:], nowMs: 100)
        #expect(admission.serve.isEmpty)
        #expect(admission.dropped.map(\.requestID).contains("a-own"))
        // Without its heartbeat, it stays held back.
        #expect(throttle.admit([], done: ["a": []], nowMs: 200).serve.isEmpty)
        // Its heartbeat says it waits for a-own: served first, with what waits for it.
        admission = throttle.admit([], done: ["a": []], waitingFor: ["a": "a-own"], nowMs: 1_000)
        #expect(admission.serve.first?.requestID == "a-own")
        #expect(admission.serve.first?.buckets == nil)
        #expect(admission.serve.count == 9)
        // While that is pending and the heartbeat still names it, nothing else goes out.
        #expect(throttle.admit([request("forged-99")], done: ["a": []], waitingFor: ["a": "a-own"], nowMs: 1_100).serve.isEmpty)
    }

    @Test func aRequestStillHeldIsNotDuplicatedByTheRescue() {
        var throttle = ResyncThrottle()
        _ = throttle.admit([request("forged-0")], done: [:], nowMs: 0)
        _ = throttle.admit([request("a-own")], done: [:], nowMs: 100)
        let admission = throttle.admit([], done: [:], waitingFor: ["a": "a-own"], nowMs: 200)
        #expect(admission.serve.map(\.requestID) == ["a-own"])
        #expect(admission.serve.first?.reason == "seq-gap")
    }

    @Test func aPendingResyncTimesOut() {
        var throttle = ResyncThrottle(settings: .init(pendingTimeoutMs: 5_000))
        _ = throttle.admit([request("a-1")], done: [:], nowMs: 0)
        #expect(throttle.admit([request("a-2")], done: ["a": ["other"]], nowMs: 4_999).serve.isEmpty)
        #expect(throttle.admit([], done: [:], nowMs: 5_000).serve.map(\.requestID) == ["a-2"])
    }

    @Test func aRequestForEveryReplicaIsDoneWhenAnyReplicaReportsIt() {
        var throttle = ResyncThrottle()
        #expect(throttle.admit([request("admin-1", replica: nil)], done: [:], nowMs: 0).serve.count == 1)
        #expect(throttle.admit([request("admin-2", replica: nil)], done: [:], nowMs: 10).serve.isEmpty)
        #expect(throttle.admit([], done: ["b": ["admin-1"]], nowMs: 20).serve.map(\.requestID) == ["admin-2"])
    }

    @Test func atMostNSnapshotsPerRegionPerMinute() {
        var throttle = ResyncThrottle(settings: .init(maxSnapshotsPerMinute: 3))
        var served = 0
        // Requests from ever new (maybe forged) replica names, one round every 100 ms for a minute.
        for round in 0..<600 {
            let now = Int64(round * 100)
            let admission = throttle.admit([request("r\(round)", replica: "fake\(round)")], done: [:], nowMs: now)
            if !admission.serve.isEmpty { served += 1 }
            if round == 100 { #expect(admission.waitReason?.contains("3 snapshots of the region in the last minute") == true) }
        }
        #expect(served == 3)
        // A minute after the first, the next snapshot serves everything that waited, coalesced.
        let later = throttle.admit([], done: [:], nowMs: 60_000)
        #expect(later.serve.count == 597)
    }

    @Test func tooManyWaitingReplicasAreDropped() {
        var throttle = ResyncThrottle(settings: .init(maxSnapshotsPerMinute: 1, maxWaiting: 2))
        _ = throttle.admit([request("x", replica: "x")], done: [:], nowMs: 0)
        let admission = throttle.admit((0..<5).map { request("r\($0)", replica: "r\($0)") }, done: [:], nowMs: 1)
        #expect(admission.dropped.map(\.requestID) == ["r2", "r3", "r4"])
    }

    @Test func theHubsOwnRequestsCountToo() {
        var throttle = ResyncThrottle(settings: .init(maxSnapshotsPerMinute: 2))
        #expect(throttle.admitNow(request("digest-a-1"), done: [:], nowMs: 0) == nil)
        #expect(throttle.admitNow(request("digest-a-2"), done: [:], nowMs: 1) == "a resync is pending for the replica")
        #expect(throttle.admitNow(request("digest-b-1", replica: "b"), done: [:], nowMs: 2) == nil)
        #expect(throttle.admitNow(request("digest-c-1", replica: "c"), done: [:], nowMs: 3)?.contains("2 snapshots") == true)
        #expect(throttle.admit([request("d-1", replica: "d")], done: [:], nowMs: 4).serve.isEmpty)
    }
}

@Suite struct ReplicaLagTests {
    @Test func theLagIsTheAgeOfTheOldestHubSeqNotReached() {
        var lag = ReplicaLag()
        #expect(lag.observe(hubSeq: 10, watermark: 10, nowMs: 0) == 0)
        #expect(lag.observe(hubSeq: 20, watermark: 10, nowMs: 1_000) == 0)
        #expect(lag.observe(hubSeq: 30, watermark: 15, nowMs: 2_000) == 1_000)
        // Past 20: the mark seen at 2 000 (seq 30) decides now.
        #expect(lag.observe(hubSeq: 30, watermark: 25, nowMs: 3_000) == 1_000)
        #expect(lag.observe(hubSeq: 40, watermark: 40, nowMs: 4_000) == 0)
        #expect(lag.observe(hubSeq: nil, watermark: 40, nowMs: 5_000) == 0)
    }

    @Test func aStuckWatermarkLagsMoreAndMore() {
        var lag = ReplicaLag()
        var last: Int64 = 0
        for second in 0..<400 {
            last = lag.observe(hubSeq: UInt64(100 + second), watermark: 50, nowMs: Int64(second) * 1_000)
        }
        #expect(last == 399_000)
    }

    @Test func readinessSaysWhy() {
        #expect(ReplicaLag.isLagging(lagMs: 100, observedAtMs: 0, nowMs: 500, maxLagMs: 1_000) == nil)
        #expect(ReplicaLag.isLagging(lagMs: 1_001, observedAtMs: 0, nowMs: 500, maxLagMs: 1_000)?.contains("lags the hub's seq by 1001 ms") == true)
        #expect(ReplicaLag.isLagging(lagMs: 0, observedAtMs: 0, nowMs: 3_001, maxLagMs: 1_000)?.contains("has not observed the hub") == true)
        #expect(ReplicaLag.isLagging(lagMs: 0, observedAtMs: nil, nowMs: 1_000_000, maxLagMs: 1_000) == nil)
    }
}
