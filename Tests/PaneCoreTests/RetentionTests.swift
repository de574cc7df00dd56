import PaneCore
import Testing

@Suite struct RetentionTests {
    @Test func keepsEverythingTheSlowestLiveReplicaHasNotApplied() {
        let d = Retention.cut(
            streamFirst: 1, streamTop: 100, published: 100, liveWatermarks: ["a": 60, "b": 40], maxEntries: 1_000, ageCutSeq: nil)
        #expect(d == Retention.Decision(minID: 41, leftBehind: [], reason: .replicas))
    }

    @Test func nothingToTrimWhenTheReplicaIsBehindTheFirstEntry() {
        let d = Retention.cut(streamFirst: 50, streamTop: 100, published: 100, liveWatermarks: ["a": 30], maxEntries: 0, ageCutSeq: nil)
        #expect(d.minID == nil)
        #expect(d.reason == .nothing)
    }

    @Test func theEntryCapWinsOverASlowReplicaAndNamesIt() {
        let d = Retention.cut(
            streamFirst: 1, streamTop: 100, published: 100, liveWatermarks: ["a": 90, "slow": 10], maxEntries: 50, ageCutSeq: nil)
        #expect(d == Retention.Decision(minID: 51, leftBehind: ["slow"], reason: .maxEntries))
    }

    @Test func theAgeCapWinsWhenItCutsFurther() {
        let d = Retention.cut(
            streamFirst: 1, streamTop: 100, published: 100, liveWatermarks: ["a": 10, "b": 95], maxEntries: 50, ageCutSeq: 70)
        #expect(d == Retention.Decision(minID: 71, leftBehind: ["a"], reason: .maxAge))
    }

    @Test func withoutLiveReplicasOnlyTheCapsTrim() {
        let none = Retention.cut(streamFirst: 1, streamTop: 100, published: 100, liveWatermarks: [:], maxEntries: 1_000, ageCutSeq: nil)
        #expect(none.minID == nil)
        let capped = Retention.cut(streamFirst: 1, streamTop: 100, published: 100, liveWatermarks: [:], maxEntries: 30, ageCutSeq: nil)
        #expect(capped == Retention.Decision(minID: 71, leftBehind: [], reason: .maxEntries))
        let aged = Retention.cut(streamFirst: 1, streamTop: 100, published: 100, liveWatermarks: [:], maxEntries: 0, ageCutSeq: 20)
        #expect(aged == Retention.Decision(minID: 21, leftBehind: [], reason: .maxAge))
    }

    @Test func alwaysKeepsTheNewestEntryAndUnconfirmedOnes() {
        let caughtUp = Retention.cut(streamFirst: 1, streamTop: 100, published: 100, liveWatermarks: ["a": 100], maxEntries: 0, ageCutSeq: nil)
        #expect(caughtUp.minID == 100)
        let unconfirmed = Retention.cut(streamFirst: 1, streamTop: 100, published: 80, liveWatermarks: ["a": 100], maxEntries: 0, ageCutSeq: nil)
        #expect(unconfirmed.minID == 81)
        let ahead = Retention.cut(streamFirst: 1, streamTop: 100, published: 100, liveWatermarks: ["a": 500], maxEntries: 10, ageCutSeq: 400)
        #expect(ahead.minID == 100)
    }

    @Test func anEmptyStreamIsLeftAlone() {
        #expect(Retention.cut(streamFirst: nil, streamTop: 0, published: 0, liveWatermarks: ["a": 5], maxEntries: 1, ageCutSeq: 3).minID == nil)
    }

    @Test func theCutNeverLandsBelowWhatIsThere() {
        // Random inputs: the cut is inside (first, top], never above an unconfirmed seq, and
        // never above a live replica's watermark + 1 unless that replica is named.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let first = UInt64.random(in: 1...1_000, using: &generator)
            let top = first + UInt64.random(in: 0...1_000, using: &generator)
            let published = UInt64.random(in: first...(top + 5), using: &generator)
            var live: [String: UInt64] = [:]
            for name in ["a", "b", "c"] where Bool.random(using: &generator) {
                live[name] = UInt64.random(in: 0...(top + 10), using: &generator)
            }
            let maxEntries = Int.random(in: 0...1_500, using: &generator)
            let age: UInt64? = Bool.random(using: &generator) ? UInt64.random(in: 0...top, using: &generator) : nil
            let d = Retention.cut(streamFirst: first, streamTop: top, published: published, liveWatermarks: live, maxEntries: maxEntries, ageCutSeq: age)
            guard let cut = d.minID else { continue }
            #expect(cut > first && cut <= top && cut <= published + 1)
            for (name, watermark) in live where watermark + 1 < cut {
                #expect(d.leftBehind.contains(name))
            }
        }
    }

    @Test func ageMapsToTheNewestSampleOlderThanTheCap() {
        let samples: [(timeMs: Int64, seq: UInt64)] = [(1_000, 5), (2_000, 9), (3_000, 20)]
        #expect(Retention.ageCutSeq(samples: samples, nowMs: 3_500, maxAgeMs: 1_000) == 9)
        #expect(Retention.ageCutSeq(samples: samples, nowMs: 1_500, maxAgeMs: 1_000) == nil)
        #expect(Retention.ageCutSeq(samples: samples, nowMs: 9_000, maxAgeMs: 0) == nil)
    }
}

@Suite struct RetentionByteCapTests {
    @Test func theByteCapBecomesAnEntryCapFromTheAverageEntry() {
        // 1,000 entries in 1,000,000 bytes: 1,000 bytes each; 250,000 bytes keep 250.
        #expect(Retention.entryCap(maxEntries: 10_000, maxBytes: 250_000, streamBytes: 1_000_000, streamLength: 1_000) == (250, true))
        // The entry cap is smaller: it stays.
        #expect(Retention.entryCap(maxEntries: 100, maxBytes: 250_000, streamBytes: 1_000_000, streamLength: 1_000) == (100, false))
        // No entry cap: the byte cap alone.
        #expect(Retention.entryCap(maxEntries: 0, maxBytes: 250_000, streamBytes: 1_000_000, streamLength: 1_000) == (250, true))
        // No byte cap, an empty stream, or no estimate: the entry cap as it is.
        #expect(Retention.entryCap(maxEntries: 7, maxBytes: 0, streamBytes: 1_000_000, streamLength: 1_000) == (7, false))
        #expect(Retention.entryCap(maxEntries: 7, maxBytes: 10, streamBytes: nil, streamLength: 1_000) == (7, false))
        #expect(Retention.entryCap(maxEntries: 7, maxBytes: 10, streamBytes: 1_000, streamLength: 0) == (7, false))
        // A cap below one entry keeps one (the stream's newest entry says where it is).
        #expect(Retention.entryCap(maxEntries: 0, maxBytes: 10, streamBytes: 1_000_000, streamLength: 1_000) == (1, true))
    }

    @Test func aByteCapTrimsLikeTheEntryCapItBecomes() {
        let cap = Retention.entryCap(maxEntries: 1_000_000, maxBytes: 50_000, streamBytes: 1_000_000, streamLength: 1_000)
        let decision = Retention.cut(streamFirst: 1, streamTop: 1_000, published: 1_000, liveWatermarks: [:], maxEntries: cap.entries, ageCutSeq: nil)
        #expect(cap.byBytes && decision.minID == 951 && decision.reason == .maxEntries)
    }
}
