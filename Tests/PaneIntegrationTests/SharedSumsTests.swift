import PaneCore
@testable import PaneHub
import Testing

/// The publisher computes a large entry's checksum once per round for all the regions that
/// get the same body (issue 13): whatever it reuses must be the checksum of the entry at hand.
@Suite struct SharedSumsTests {
    func update(_ body: [UInt8], id: String = "a", version: Int64 = 3, seq: UInt64 = 1, tsUs: Int64 = 7) throws -> ContextUpdate {
        ContextUpdate(seq: seq, id: try ContextID(id), version: version, op: .batch, body: body, hubTimeUs: tsUs)
    }

    @Test func everySumIsTheEntrysOwn() throws {
        let large = [UInt8](repeating: UInt8(ascii: "x"), count: SharedSums.minimumBytes)
        var other = large
        other[100] = UInt8(ascii: "y")  // same length, other bytes, other storage
        let shared = try update(large, seq: 1)
        let cases = [
            shared, try update(large, seq: 2), try update(other), try update(large, version: 4), try update(large, tsUs: 8),
            try update(large, id: "b"), try update(Array(large.prefix(10))), try update(Array(large.prefix(10))),
        ]
        var sums = SharedSums()
        for update in cases + cases.reversed() {
            #expect(sums.sum(of: update) == StreamEntryCodec.sum(of: update))
        }
        // The same body array in two regions (seqs differ, the sum does not cover them).
        var regional = shared
        regional.seq = 9
        #expect(sums.sum(of: regional) == sums.sum(of: shared))
        #expect(StreamEntryCodec.encode(regional).first { $0.0 == StreamEntryCodec.Field.sum }?.1 == Array(sums.sum(of: regional).utf8))
    }
}
