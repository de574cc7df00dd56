import PaneCore
import Testing

@Suite struct SeqRangesTests {
    @Test func inOrderBatchesExtendOneRange() {
        var ranges = SeqRanges()
        ranges.insert(seqs: [1, 2, 3])
        ranges.insert(seqs: [4, 5])
        #expect(ranges.watermark == 5)
        #expect(ranges.ranges == [0...5])
    }

    @Test func outOfOrderWorkersStallTheWatermarkUntilTheHoleFills() {
        var ranges = SeqRanges()
        ranges.insert(seqs: [1, 2])
        ranges.insert(seqs: [6, 5, 7])  // another worker's batch, ahead
        #expect(ranges.watermark == 2)
        #expect(ranges.highest == 7)
        #expect(!ranges.contains(3))
        ranges.insert(seqs: [3, 4])
        #expect(ranges.watermark == 7)
        #expect(ranges.ranges.count == 1)
    }

    @Test func duplicatesAndOverlapsMerge() {
        var ranges = SeqRanges([0...3, 10...12, 2...5, 11...11])
        #expect(ranges.ranges == [0...5, 10...12])
        ranges.insert(seqs: [6, 6, 9, 9])
        #expect(ranges.ranges == [0...6, 9...12])
        #expect(ranges.description == "0-6,9-12")
    }

    @Test func aSnapshotRaisesTheWatermarkAndKeepsWhatIsAbove() {
        var ranges = SeqRanges()
        ranges.insert(seqs: [1, 2, 50, 51])
        ranges.raise(to: 40)
        #expect(ranges.ranges == [0...40, 50...51])
        ranges.raise(to: 49)
        #expect(ranges.watermark == 51)
    }
}

@Suite struct GapDetectorTests {
    func observe(
        now: Int64 = 10_000, watermark: UInt64 = 100, empty: Bool = false, stream: GapDetector.StreamView? = .init(length: 100, firstSeq: 1, topSeq: 100),
        delivered: UInt64? = 100, nextPending: Bool = false, deleted: Int = 0, stale: [GapDetector.StaleMark] = [], inFlight: GapDetector.InFlight? = nil
    ) -> GapDetector.Observation {
        .init(
            nowMs: now, watermark: watermark, databaseEmpty: empty, stream: stream, groupLastDelivered: delivered, nextPending: nextPending,
            deletedPending: deleted, stale: stale, inFlight: inFlight)
    }

    func reason(_ decision: GapDetector.Decision) -> GapDetector.Reason? {
        if case .resync(let reason, _, _) = decision { return reason }
        return nil
    }

    @Test func aCaughtUpReplicaIsHealthy() {
        var detector = GapDetector()
        #expect(detector.decide(observe()) == .healthy)
        // Behind, but the next entry is pending: a worker is on it.
        #expect(detector.decide(observe(watermark: 90, nextPending: true)) == .healthy)
        // Behind, and the group has not delivered more yet.
        #expect(detector.decide(observe(watermark: 90, delivered: 90)) == .healthy)
    }

    @Test func aMissingStreamOrALowerTopMeansRedisLostData() {
        var detector = GapDetector()
        #expect(reason(detector.decide(observe(stream: nil))) == .lost)
        var other = GapDetector()
        #expect(reason(other.decide(observe(stream: .init(length: 3, firstSeq: 1, topSeq: 3)))) == .lost)
        // A new replica before anything was published is fine.
        var fresh = GapDetector()
        #expect(fresh.decide(observe(watermark: 0, empty: true, stream: nil, delivered: nil)) == .healthy)
    }

    @Test func anEmptyReplicaBootstraps() {
        var detector = GapDetector()
        let trimmed = GapDetector.StreamView(length: 50, firstSeq: 51, topSeq: 100)
        let decision = detector.decide(observe(watermark: 0, empty: true, stream: trimmed, delivered: 0))
        #expect(decision == .resync(.bootstrap, buckets: nil, detail: "the replica is empty and the stream no longer starts at seq 1"))
        // A stream that still holds everything is simply read.
        var whole = GapDetector()
        #expect(whole.decide(observe(watermark: 0, empty: true, delivered: 0, nextPending: true)) == .healthy)
    }

    @Test func aStreamTrimmedPastTheWatermarkIsAGap() {
        var detector = GapDetector()
        #expect(reason(detector.decide(observe(watermark: 10, stream: .init(length: 50, firstSeq: 51, topSeq: 100)))) == .trimmed)
        var exact = GapDetector()
        #expect(exact.decide(observe(watermark: 50, stream: .init(length: 50, firstSeq: 51, topSeq: 100), nextPending: true)) == .healthy)
        var empty = GapDetector()
        #expect(reason(empty.decide(observe(watermark: 10, stream: .init(length: 0, firstSeq: nil, topSeq: 100)))) == .trimmed)
    }

    @Test func deletedPendingEntriesAreAGap() {
        var detector = GapDetector()
        #expect(reason(detector.decide(observe(deleted: 3))) == .deletedPending)
    }

    @Test func aStalledWatermarkIsAGapOnlyAfterTheStallTime() {
        var detector = GapDetector()
        #expect(detector.decide(observe(now: 0, watermark: 90)) == .healthy)
        #expect(detector.decide(observe(now: 1_000, watermark: 90)) == .healthy)
        #expect(reason(detector.decide(observe(now: 2_000, watermark: 90))) == .seqGap)
        // The watermark moved: the stall starts over.
        var moving = GapDetector()
        _ = moving.decide(observe(now: 0, watermark: 90))
        #expect(moving.decide(observe(now: 2_500, watermark: 91)) == .healthy)
    }

    @Test func aDeadLetteredNextEntryAsksOnlyForTheStaleBuckets() {
        var detector = GapDetector()
        let stale = [GapDetector.StaleMark(seq: 91, id: "tenant/a")]
        _ = detector.decide(observe(now: 0, watermark: 90, stale: stale))
        let decision = detector.decide(observe(now: 3_000, watermark: 90, stale: stale))
        guard case .resync(.deadLetter, let buckets, _) = decision else {
            Issue.record("expected a dead-letter resync, got \(decision)")
            return
        }
        #expect(buckets == [ContextDigest.bucket(of: "tenant/a")])
    }

    @Test func requestsWaitWhileOneIsInFlightAndBackOff() {
        var detector = GapDetector()
        let trimmed = GapDetector.StreamView(length: 1, firstSeq: 100, topSeq: 100)
        #expect(reason(detector.decide(observe(now: 0, watermark: 10, stream: trimmed))) == .trimmed)
        let inFlight = GapDetector.InFlight(reason: "trimmed", requestedAtMs: 0)
        #expect(detector.decide(observe(now: 1_000, watermark: 10, stream: trimmed, inFlight: inFlight)) == .waiting(.trimmed))
        // Unanswered past the timeout: asked again, then backoff doubles.
        #expect(reason(detector.decide(observe(now: 61_000, watermark: 10, stream: trimmed, inFlight: inFlight))) == .trimmed)
        #expect(detector.decide(observe(now: 62_000, watermark: 10, stream: trimmed)) == .waiting(.trimmed))
        #expect(reason(detector.decide(observe(now: 65_000, watermark: 10, stream: trimmed))) == .trimmed)
        // Healthy again resets the backoff.
        #expect(detector.decide(observe(now: 66_000)) == .healthy)
        #expect(reason(detector.decide(observe(now: 66_001, watermark: 10, stream: trimmed))) == .trimmed)
    }

    /// A new hub history (a restore) asks for everything at once, even while a resync of the old
    /// history is in flight; a new-history request in flight is waited for like any other.
    @Test func aNewHubHistoryAsksForEverythingAtOnce() {
        var detector = GapDetector()
        var o = observe(now: 1_000)
        o.newHistory = true
        guard case .resync(.newHistory, let buckets, _) = detector.decide(o) else {
            Issue.record("expected a new-history resync")
            return
        }
        #expect(buckets == nil, "every bucket")
        o.inFlight = GapDetector.InFlight(reason: "trimmed", requestedAtMs: 900)
        #expect(reason(detector.decide(o)) == .newHistory, "an old-history resync in flight does not stand in for it")
        o.inFlight = GapDetector.InFlight(reason: "new-history", requestedAtMs: 900)
        #expect(detector.decide(o) == .waiting(.newHistory))
        o.newHistory = false
        o.inFlight = nil
        #expect(detector.decide(o) == .healthy)
    }
}

@Suite struct DigestAndSnapshotCodecTests {
    @Test func digestsMatchForTheSameRowsInAnyOrderAndFindTheDifferingBucket() throws {
        var a = ContextDigest()
        var b = ContextDigest()
        var rows: [(id: String, version: Int64, deleted: Bool)] = []
        for n in 0..<500 {
            let version = Int64(n % 7 + 1)
            rows.append((id: "ctx/\(n)", version: version, deleted: n % 11 == 0))
        }
        for row in rows { a.add(id: row.id, version: row.version, deleted: row.deleted) }
        for row in rows.reversed() { b.add(id: row.id, version: row.version, deleted: row.deleted) }
        #expect(a == b)
        var c = ContextDigest()
        for row in rows where row.id != "ctx/42" {
            let version: Int64 = row.id == "ctx/7" ? 99 : row.version
            c.add(id: row.id, version: version, deleted: row.deleted)
        }
        let differing = Set(a.differing(from: c))
        #expect(differing == Set([ContextDigest.bucket(of: "ctx/42"), ContextDigest.bucket(of: "ctx/7")]))
        let decoded = try #require(ContextDigest(encoded: a.encoded))
        #expect(decoded == a)
        #expect(ContextDigest(encoded: "bm90IGEgZGlnZXN0") == nil)
    }

    @Test func antiEntropySkipsBucketsTheHubChangedAfterThePosition() {
        var hub = ContextDigest()
        hub.add(id: "a", version: 2, deleted: false)
        hub.add(id: "b", version: 1, deleted: false)
        var replica = ContextDigest()
        replica.add(id: "a", version: 1, deleted: false)
        var maxSeq = [UInt64](repeating: 0, count: ContextDigest.bucketCount)
        maxSeq[ContextDigest.bucket(of: "a")] = 20  // a's v2 came after the replica's position
        maxSeq[ContextDigest.bucket(of: "b")] = 5
        let outcome = AntiEntropy.compare(hub: hub, hubMaxSeq: maxSeq, replica: replica, position: 10)
        #expect(outcome.differing == [ContextDigest.bucket(of: "b")])
        #expect(outcome.inFlux == 1)
    }

    @Test func snapshotChunksRoundTripAndTruncationIsAnError() throws {
        let rows = [
            SnapshotRow(id: try ContextID("tenant/a"), version: 3, deleted: false, body: Array("{\"x\":1}".utf8), hubTimeMs: 17, seq: 9),
            SnapshotRow(id: try ContextID("tenant/b"), version: 1, deleted: true, body: [], hubTimeMs: 18, seq: 10),
            SnapshotRow(id: try ContextID("tenant/c"), version: 5, deleted: false, body: [], hubTimeMs: 0, seq: 4, bodyMissing: true),
        ]
        let bytes = SnapshotChunkCodec.encode(rows)
        #expect(try SnapshotChunkCodec.decode(bytes) == rows)
        #expect(throws: EntryError.self) { try SnapshotChunkCodec.decode(Array(bytes.dropLast(3))) }
    }

    /// The decoder reads fixed-width fields in place from the buffer: every cut, anywhere, is an
    /// `EntryError` naming the byte (never a read past the end), from any start offset, and a
    /// row's length fields cannot reach beyond the chunk.
    @Test func everyCutOfASnapshotChunkIsRefusedWherePrefixesAreSkipped() throws {
        let rows = [
            SnapshotRow(id: try ContextID("tenant/a"), version: 3, deleted: false, body: Array("{\"x\":1}".utf8), hubTimeMs: 17, seq: 9),
            SnapshotRow(id: try ContextID("tenant/b"), version: 1, deleted: true, body: [], hubTimeMs: 18, seq: 10),
        ]
        let prefix: [UInt8] = [1, 2, 3, 4, 5]
        let bytes = SnapshotChunkCodec.encode(rows, prefix: prefix)
        #expect(try SnapshotChunkCodec.decode(bytes, from: prefix.count) == rows)
        let firstRowEnd = prefix.count + SnapshotChunkCodec.encode([rows[0]]).count
        for cut in prefix.count + 1..<bytes.count where cut != firstRowEnd {
            #expect(throws: EntryError.self, "cut at \(cut)") { try SnapshotChunkCodec.decode(Array(bytes[..<cut]), from: prefix.count) }
        }
        #expect(try SnapshotChunkCodec.decode(Array(bytes[..<firstRowEnd]), from: prefix.count) == [rows[0]])
        // A body length of 4 GiB - 1 in a short chunk: refused, not read.
        var huge = SnapshotChunkCodec.encode([rows[1]])
        huge.replaceSubrange(huge.count - 4..<huge.count, with: [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(throws: EntryError.self) { try SnapshotChunkCodec.decode(huge) }
        // An id that is not a context id.
        var badID = SnapshotChunkCodec.encode([rows[1]])
        badID[2] = 0
        #expect { try SnapshotChunkCodec.decode(badID) } throws: { ($0 as? EntryError)?.kind == .badContextID }
    }

    @Test func streamedSnapshotElementsRoundTripAndDamageIsNamed() throws {
        let rows = [
            SnapshotRow(id: try ContextID("tenant/a"), version: 3, deleted: false, body: Array("{\"x\":1}".utf8), hubTimeMs: 17, seq: 9),
            SnapshotRow(id: try ContextID("tenant/b"), version: 1, deleted: true, body: [], hubTimeMs: 18, seq: 10),
        ]
        #expect(try SnapshotStreamCodec.decode(SnapshotStreamCodec.begin(epoch: 7, seq: 40)) == .begin(epoch: 7, seq: 40))
        let chunk = SnapshotStreamCodec.chunk(index: 3, rows: rows)
        #expect(try SnapshotStreamCodec.decode(chunk) == .chunk(index: 3, rows: rows))
        #expect(try SnapshotStreamCodec.decode(SnapshotStreamCodec.end(chunks: 4, rows: 7_001)) == .end(chunks: 4, rows: 7_001))
        #expect(SnapshotStreamCodec.listIndex(ofChunk: 0) == 1)
        // Every element is untrusted: empty, unknown, cut short, a row cut short.
        for bad in [[], [9], [0, 1, 2], Array(SnapshotStreamCodec.end(chunks: 1, rows: 1).dropLast()), [1, 0, 0], Array(chunk.dropLast(2))] {
            #expect(throws: EntryError.self, "\(bad.prefix(8))") { try SnapshotStreamCodec.decode(bad) }
        }
        // A streamed announcement names its own key, and says so; an old one decodes as not streamed.
        let streamed = SnapshotAnnouncement(
            key: "pane:{r}:snapshot:5:stream", epoch: 5, seq: 40, chunks: 0, rows: 0, replicas: ["a"], buckets: nil, requestIDs: ["x"],
            reason: "bootstrap", streamed: true)
        #expect(try SnapshotAnnouncement.decode(streamed.encoded()).isStreamed)
        let old = Array(#"{"key":"k","epoch":1,"seq":2,"chunks":1,"rows":3,"requestIDs":["x"],"reason":"r"}"#.utf8)
        #expect(!(try SnapshotAnnouncement.decode(old).isStreamed))
        let request = ResyncRequest(requestID: "r1", replica: "a", reason: "bootstrap", buckets: nil, streaming: true)
        #expect(try ResyncRequest.decode(request.encoded()).streaming == true)
        #expect(try ResyncRequest.decode(Array(#"{"requestID":"r","replica":"a","reason":"x"}"#.utf8)).streaming == nil)
    }

    @Test func aSpokeFromBeforeStreamingRefusesAStreamedAnnouncement() throws {
        let streamed = SnapshotAnnouncement(
            key: "pane:{r}:snapshot:5:stream", epoch: 5, seq: 40, chunks: 0, rows: 0, replicas: ["a"], buckets: nil, requestIDs: ["x"],
            reason: "bootstrap", streamed: true)
        let replica = try ReplicaName("a")
        // An old spoke expects the key of a snapshot written in full: it refuses, never applies it empty.
        let old = SnapshotGuard.check(streamed, entrySeq: 41, replica: replica, expectedKey: "pane:{r}:snapshot:5", known: ["x"])
        guard case .refuse = old else {
            Issue.record("an old spoke must refuse a streamed announcement, not \(old)")
            return
        }
        #expect(SnapshotGuard.check(streamed, entrySeq: 41, replica: replica, expectedKey: "pane:{r}:snapshot:5:stream", known: ["x"]) == .apply)
    }

    @Test func announcementsAndRequestsRoundTripAndBadRequestsAreNamed() throws {
        let announcement = SnapshotAnnouncement(
            key: "pane:{r}:snapshot:5", epoch: 5, seq: 40, chunks: 2, rows: 3000, replicas: ["a"], buckets: [1, 2], requestIDs: ["x"],
            reason: "trimmed")
        #expect(try SnapshotAnnouncement.decode(announcement.encoded()) == announcement)
        #expect(announcement.isFor(try ReplicaName("a")))
        #expect(!announcement.isFor(try ReplicaName("b")))
        let request = ResyncRequest(requestID: "r1", replica: "a", reason: "admin", buckets: [3, 1, 3])
        #expect(request.buckets == [1, 3])
        #expect(try ResyncRequest.decode(request.encoded()) == request)
        let error = try #require(throws: EntryError.self) {
            try ResyncRequest.decode(Array(#"{"requestID":"r","reason":"x","buckets":[5000]}"#.utf8))
        }
        #expect(error.detail.contains("5000"))
    }
}
