import PaneCore
import Testing

@Suite struct ClusterCoreTests {
    @Test func crc16MatchesTheClusterSpecsCheckValue() {
        // The cluster spec's reference: CRC16/XMODEM of "123456789" is 0x31C3.
        #expect(ClusterSlot.crc16(Array("123456789".utf8)) == 0x31C3)
    }

    @Test(arguments: [
        ("foo", 12182), ("bar", 5061), ("hello", 866), ("", 0), ("foo{}{bar}", 8363),
        ("{user1000}.following", 3443), ("{user1000}.followers", 3443),
    ])
    func slotsMatchWhatRedisAnswers(key: String, slot: Int) {
        #expect(ClusterSlot.of(key) == slot)
    }

    @Test func hashTagsFollowTheSpecsRules() {
        // The spec's examples: the first {…} with content; "{}" hashes the whole key.
        #expect(ClusterSlot.of("foo{bar}{zap}") == ClusterSlot.of("bar"))
        #expect(ClusterSlot.of("foo{{bar}}zap") == ClusterSlot.of("{bar"))
        #expect(ClusterSlot.of("foo{}{bar}") == Int(ClusterSlot.crc16(Array("foo{}{bar}".utf8)) & 0x3FFF))
        #expect(ClusterSlot.of("pane:{eu-west-1}:updates") == ClusterSlot.of("pane:{eu-west-1}:dlq"))
        #expect(ClusterSlot.of("pane:{eu-west-1}:updates") == ClusterSlot.of("eu-west-1"))
        #expect(ClusterSlot.of("{") == ClusterSlot.of(bytes: Array("{".utf8)))
    }

    @Test func redirectionsAreReadAndOrdinaryErrorsAreNot() {
        let here = ClusterNode(host: "10.0.0.1", port: 7000)
        #expect(ClusterRedirection(errorReply: "MOVED 3999 127.0.0.1:6381") == .moved(slot: 3999, node: ClusterNode(host: "127.0.0.1", port: 6381)))
        #expect(ClusterRedirection(errorReply: "ASK 3999 127.0.0.1:6381") == .ask(slot: 3999, node: ClusterNode(host: "127.0.0.1", port: 6381)))
        #expect(ClusterRedirection(errorReply: "MOVED 1 :6380", answeredBy: here) == .moved(slot: 1, node: ClusterNode(host: "10.0.0.1", port: 6380)))
        #expect(ClusterRedirection(errorReply: "MOVED 1 :6380") == nil)
        #expect(ClusterRedirection(errorReply: "MOVED 1 [::1]:6380") == .moved(slot: 1, node: ClusterNode(host: "::1", port: 6380)))
        #expect(ClusterRedirection(errorReply: "CLUSTERDOWN The cluster is down") == .retryLater(reason: "CLUSTERDOWN The cluster is down"))
        #expect(ClusterRedirection(errorReply: "TRYAGAIN Multiple keys request during rehashing of slot") != nil)
        #expect(ClusterRedirection(errorReply: "ERR unknown command") == nil)
        #expect(ClusterRedirection(errorReply: "MOVED 16384 127.0.0.1:6381") == nil)
        #expect(ClusterRedirection(errorReply: "MOVED x 127.0.0.1:6381") == nil)
        #expect(ClusterRedirection(errorReply: "MOVED 5 127.0.0.1:99999") == nil)
        #expect(ClusterRedirection(errorReply: "") == nil)
    }

    @Test func theSlotMapFindsMastersAndFollowsAMove() throws {
        let a = ClusterNode(host: "127.0.0.1", port: 7000)
        let b = ClusterNode(host: "127.0.0.1", port: 7001)
        let c = ClusterNode(host: "127.0.0.1", port: 7002)
        var map = try #require(
            SlotMap(ranges: [
                .init(slots: 10923...16383, master: c), .init(slots: 0...5460, master: a), .init(slots: 5461...10922, master: b),
            ]))
        #expect(map.masters == [a, b, c])
        #expect(map.uncoveredSlots == 0)
        #expect(map.master(of: 0) == a)
        #expect(map.master(of: 5461) == b)
        #expect(map.master(of: 16383) == c)
        map.move(slot: 5461, to: c)
        #expect(map.master(of: 5461) == c)
        #expect(map.master(of: 5460) == a)
        #expect(map.master(of: 5462) == b)
        #expect(map.uncoveredSlots == 0)
        #expect(map.ranges.map(\.slots) == [0...5460, 5461...5461, 5462...10922, 10923...16383])
    }

    @Test func aMapWithOverlapsOrSlotsOutOfRangeIsRefused() {
        let a = ClusterNode(host: "h", port: 1)
        #expect(SlotMap(ranges: [.init(slots: 0...10, master: a), .init(slots: 10...20, master: a)]) == nil)
        #expect(SlotMap(ranges: [.init(slots: 0...16384, master: a)]) == nil)
        let partial = SlotMap(ranges: [.init(slots: 0...99, master: a)])
        #expect(partial?.uncoveredSlots == 16_284)
        #expect(partial?.master(of: 100) == nil)
    }

    @Test func nodeAddressesParse() {
        #expect(ClusterNode(address: "127.0.0.1:7000") == ClusterNode(host: "127.0.0.1", port: 7000))
        #expect(ClusterNode(address: "no-port") == nil)
        #expect(ClusterNode(address: "h:0") == nil)
        #expect(ClusterNode(host: "::1", port: 1).description == "[::1]:1")
    }
}
