import PaneCore
import Testing

@Suite struct OutboxTailTests {
    let a = try! Region("tail-a")
    let b = try! Region("tail-b")

    func placed(_ region: Region, _ seqs: ClosedRange<UInt64>) -> [PlacedUpdate] {
        seqs.map { seq in
            PlacedUpdate(
                region: region,
                update: ContextUpdate(seq: seq, id: try! ContextID("c\(seq)"), version: 1, op: .put, body: Array("{}".utf8), hubTimeUs: 0))
        }
    }

    @Test func handsOverContiguousRowsInOrderPerRegion() {
        var tail = OutboxTail()
        tail.append(placed(a, 1...5) + placed(b, 1...2))
        #expect(tail.take(a, after: 0, limit: 3)?.map(\.seq) == [1, 2, 3])
        #expect(tail.take(a, after: 3, limit: 10)?.map(\.seq) == [4, 5])
        #expect(tail.take(a, after: 5, limit: 10)?.isEmpty == true)
        #expect(tail.take(b, after: 0, limit: 10)?.map(\.seq) == [1, 2])
    }

    @Test func rowsAlreadySentAreSkipped() {
        var tail = OutboxTail()
        tail.append(placed(a, 1...6))
        // The publisher read 1...4 from the table meanwhile.
        #expect(tail.take(a, after: 4, limit: 10)?.map(\.seq) == [5, 6])
    }

    @Test func aHoleSendsThePublisherToTheTable() {
        var tail = OutboxTail()
        tail.append(placed(a, 8...9))
        #expect(tail.take(a, after: 5, limit: 10) == nil, "6 and 7 are not in memory")
        // Still nil, and the rows stay for when the publisher has caught up through the table.
        #expect(tail.take(a, after: 5, limit: 10) == nil)
        #expect(tail.take(a, after: 7, limit: 10)?.map(\.seq) == [8, 9])
    }

    @Test func rowsWrittenAroundTheTailInvalidateItUntilTheTableIsRead() {
        var tail = OutboxTail()
        tail.append(placed(a, 1...2))
        tail.invalidate(a)
        #expect(tail.take(a, after: 0, limit: 10) == nil)
        tail.append(placed(a, 3...3))  // dropped: the region is invalid
        #expect(tail.take(a, after: 2, limit: 10) == nil)
        tail.revalidate(a)
        tail.append(placed(a, 4...4))
        #expect(tail.take(a, after: 3, limit: 10)?.map(\.seq) == [4])
        // Other regions are not affected.
        tail.append(placed(b, 1...1))
        #expect(tail.take(b, after: 0, limit: 10)?.map(\.seq) == [1])
    }

    @Test func tooManyBytesDropTheRegionLikeTooManyRows() {
        var tail = OutboxTail()
        let big = Array(repeating: UInt8(ascii: "x"), count: 1 << 20)
        func update(_ seq: UInt64) -> PlacedUpdate {
            PlacedUpdate(region: a, update: ContextUpdate(seq: seq, id: try! ContextID("c\(seq)"), version: 1, op: .put, body: big, hubTimeUs: 0))
        }
        let fits = OutboxTail.capacityBytes >> 20
        tail.append((1...UInt64(fits)).map(update))
        #expect(tail.take(a, after: 0, limit: 2)?.map(\.seq) == [1, 2], "at the byte cap the tail still holds every row")
        // Taking frees bytes: two more fit again, a third overflows.
        tail.append([update(UInt64(fits + 1)), update(UInt64(fits + 2))])
        #expect(tail.take(a, after: 2, limit: 1)?.map(\.seq) == [3])
        tail.append([update(UInt64(fits + 3)), update(UInt64(fits + 4))])
        #expect(tail.take(a, after: 3, limit: 10) == nil, "past the byte cap the publisher reads the table")
    }

    @Test func overflowDropsTheRegionAndSendsThePublisherToTheTable() {
        var tail = OutboxTail()
        tail.append(placed(a, 1...UInt64(OutboxTail.capacity)))
        tail.append(placed(a, UInt64(OutboxTail.capacity + 1)...UInt64(OutboxTail.capacity + 1)))
        #expect(tail.take(a, after: 0, limit: 10) == nil)
    }
}
