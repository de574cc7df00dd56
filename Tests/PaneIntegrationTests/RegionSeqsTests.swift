import Foundation
@testable import PaneStore
import Testing

/// The in-place reading of `outbox_writes.seqs` the publisher's outbox pass and the deletion of
/// published rows use: it must find exactly what the decoding into ``RegionSeqs`` finds.
@Suite struct RegionSeqsTests {
    static func found(_ text: String, _ names: [String]) -> [(String, Int64)] {
        var found: [(String, Int64)] = []
        let bytes = names.map { Array($0.utf8) }
        Array(text.utf8).withUnsafeBufferPointer { text in
            RegionSeqs.forEachSeq(in: text, of: bytes) { index, seq in found.append((names[index], seq)) }
        }
        return found
    }

    @Test func findsTheAskedRegionsInTheTextsOrder() {
        let text = RegionSeqs([("r1", 12), ("r10", 7), ("eu-west", 3)]).text
        #expect(Self.found(text, ["eu-west", "r1"]).elementsEqual([("r1", 12), ("eu-west", 3)]) { $0 == $1 })
        #expect(Self.found(text, ["r10"]).elementsEqual([("r10", 7)]) { $0 == $1 }, "a name that starts like another")
        #expect(Self.found(text, ["r"]).isEmpty, "a prefix of a name is not the name")
        #expect(Self.found(text, []).isEmpty)
        #expect(Self.found("", ["r1"]).isEmpty)
    }

    /// Malformed parts are skipped, as ``RegionSeqs/init(text:)`` skips them.
    @Test func skipsWhatTheDecodingSkips() {
        for text in [",r1:,r2:5,", "r1:x1,r2:5", ",r1,r2:5,,", ",:4,r2:5,", ",r1:1a,r2:5"] {
            let names = ["r1", "r2", ""]
            let decoded = RegionSeqs(text: text).entries.filter { names.contains($0.region) }.map { ($0.region, $0.seq) }
            #expect(Self.found(text, names).elementsEqual(decoded) { $0 == $1 }, "\(text)")
        }
    }

    /// The write path's shortcut (issue 13): true only when the stored text names exactly the
    /// given regions in the same order, whatever their seqs; anything else, malformed text
    /// included, goes to the full decoding.
    @Test func sameRegionsOnlyForTheSameNamesInTheSameOrder() {
        let entries: [(region: String, seq: Int64)] = [("r1", 4), ("r10", 9)]
        #expect(RegionSeqs.sameRegions(RegionSeqs(entries).text, as: entries))
        #expect(RegionSeqs.sameRegions(",r1:1,r10:2,", as: entries), "other seqs, same regions")
        #expect(RegionSeqs.sameRegions(",", as: []), "no region on either side")
        for text in [
            ",r10:2,r1:1,", ",r1:1,", ",r1:1,r10:2,r2:3,", ",r1:1,r100:2,", ",r1:1,r1:2,", ",r1:,r10:2,", ",r1:1,r10:2",
            "r1:1,r10:2,", ",r1:1,r10:2,,", ",r1:1a,r10:2,", ",r1;1,r10:2,", "", ",",
        ] {
            #expect(!RegionSeqs.sameRegions(text, as: entries), "\(text)")
        }
        #expect(!RegionSeqs.sameRegions(",r1:1,", as: []), "a region against none")
        // Whenever it says the same, the decoding finds those names in that order.
        for text in [",r1:1,r10:2,", ",r1:77,r10:0,"] where RegionSeqs.sameRegions(text, as: entries) {
            #expect(RegionSeqs(text: text).entries.map(\.region) == entries.map(\.region))
        }
    }
}
