import PaneCore
import PaneRedis
import Testing

/// The key types and the pipelined command encoders (pure; no Redis needed).
@Suite struct RedisKeyTests {
    @Test func regionKeysKeepTheirFormats() throws {
        let keys = try Region("eu-west-1").keys
        #expect(keys.updates.rawValue == "pane:{eu-west-1}:updates")
        #expect(keys.deadLetters.rawValue == "pane:{eu-west-1}:dlq")
        #expect(keys.resyncRequests.rawValue == "pane:{eu-west-1}:resync")
        #expect(keys.replicas.rawValue == "pane:{eu-west-1}:replicas")
        #expect(keys.hub.rawValue == "pane:{eu-west-1}:hub")
        #expect(keys.snapshot(epoch: 1_700_000_000_123).rawValue == "pane:{eu-west-1}:snapshot:1700000000123")
        #expect(keys.snapshots.rawValue == "pane:{eu-west-1}:snapshot:*")
        #expect(RegionKeys.everyRegionStream.rawValue == "pane:{*}:updates")
        #expect(keys.hashTag == "{eu-west-1}")
        #expect(keys.updates.description == "pane:{eu-west-1}:updates")
        #expect(keys.all.map(\.rawValue) == ["pane:{eu-west-1}:updates", "pane:{eu-west-1}:dlq", "pane:{eu-west-1}:resync", "pane:{eu-west-1}:replicas", "pane:{eu-west-1}:hub"])
    }

    @Test func everyKeyOfARegionSharesItsHashTagAndSlot() throws {
        for name in ["a", "us-east-1", "t-x_y.z", String(repeating: "r", count: 64)] {
            let keys = try Region(name).keys
            let all: [any RedisKeyName] = keys.all + [keys.snapshot(epoch: 42)]
            #expect(all.allSatisfy { $0.hashTag == name })
            #expect(Set(all.map(\.hashSlot)).count == 1)
            #expect(all.allSatisfy { (0..<16_384).contains($0.hashSlot) })
        }
    }

    @Test func hashTagsFollowTheClusterRule() throws {
        #expect(RedisKey("{user1000}.following").hashTag == "user1000")
        #expect(RedisKey("foo{}{bar}").hashTag == nil)  // an empty first tag: the whole key is hashed
        #expect(RedisKey("foo{{bar}}zap").hashTag == "{bar")
        #expect(RedisKey("foo{bar}{zap}").hashTag == "bar")
        #expect(RedisKey("no-tag").hashTag == nil)
        #expect(RedisKey("open{only").hashTag == nil)
        // The CRC16/XMODEM check value of the cluster specification (0x31C3 < 16384), and slots
        // that `CLUSTER KEYSLOT` gives on a Redis 7 cluster node.
        #expect(RedisKey("123456789").hashSlot == 0x31C3)
        #expect(RedisKey("foo").hashSlot == 12_182)
        #expect(RedisKey("{foo}.bar").hashSlot == 12_182)
        #expect(RedisKey("foo{}{bar}").hashSlot == 8_363)
        #expect(try Region("eu-west-1").keys.updates.hashSlot == 3_928)
    }

    @Test func streamKeysAreParsedBackToRegions() throws {
        let region = try Region("eu-west-1")
        #expect(RegionKeys.region(ofStream: region.keys.updates) == region)
        #expect(RegionKeys.region(ofStream: RedisKey("pane:{eu-west-1}:updates")) == region)
        #expect(RegionKeys.region(ofStream: region.keys.deadLetters) == nil)
        #expect(RegionKeys.region(ofStream: RedisKey("pane:{}:updates")) == nil)
        #expect(RegionKeys.region(ofStream: RedisKey("pane:{Bad Name}:updates")) == nil)
        #expect(RegionKeys.region(ofStream: RedisKey("other:{eu-west-1}:updates")) == nil)
    }

    @Test func consumerGroupsNameTheirReplica() throws {
        let replica = try ReplicaName("a")
        #expect(replica.consumerGroup.rawValue == "replica:a")
        #expect(replica.consumerGroup == .replica(replica))
        #expect(replica.consumerGroup.replicaName == replica)
        #expect(ConsumerGroup.hub.rawValue == "hub")
        #expect(ConsumerGroup.hub.replicaName == nil)
        #expect(ConsumerGroup("replica:").replicaName == nil)
    }

    @Test func snapshotAnnouncementsNameTheirList() throws {
        let key = try Region("r").keys.snapshot(epoch: 7)
        let announcement = SnapshotAnnouncement(
            key: key.rawValue, epoch: 7, seq: 1, chunks: 0, rows: 0, replicas: nil, buckets: nil, requestIDs: [], reason: "test")
        #expect(announcement.listKey == key)
    }

    @Test func pipelinedCommandsEncodeAsRESP() throws {
        let keys = try Region("r").keys
        var buffer = RedisCommandBuffer()
        buffer.xadd(key: keys.resyncRequests, maxLength: 10, fields: [("request", Array("{}".utf8))])
        buffer.hset(key: keys.replicas, field: "a", value: "x")
        buffer.rpush(key: keys.snapshot(epoch: 1), value: [1, 2])
        buffer.expire(key: keys.snapshot(epoch: 1), seconds: 60)
        buffer.xack(key: keys.updates, group: .hub, ids: ["1-0", "2-0"])
        #expect(buffer.count == 5)
        #expect(buffer.firstCommand == "XADD")
        let expected = [
            resp(["XADD", "pane:{r}:resync", "MAXLEN", "~", "10", "*", "request", "{}"]),
            resp(["HSET", "pane:{r}:replicas", "a", "x"]),
            resp(["RPUSH", "pane:{r}:snapshot:1", "\u{1}\u{2}"]),
            resp(["EXPIRE", "pane:{r}:snapshot:1", "60"]),
            resp(["XACK", "pane:{r}:updates", "hub", "1-0", "2-0"]),
        ].joined()
        #expect(buffer.bytes == Array(expected.utf8))
    }

    @Test func transactionsStartWithMulti() throws {
        var transaction = RedisTransaction()
        #expect(transaction.count == 0)
        transaction.commands.xdel(key: try Region("r").keys.updates, ids: ["5-0"])
        #expect(transaction.count == 1)
        #expect(transaction.commands.firstCommand == "MULTI")
        #expect(transaction.commands.bytes == Array((resp(["MULTI"]) + resp(["XDEL", "pane:{r}:updates", "5-0"])).utf8))
    }

    private func resp(_ args: [String]) -> String {
        "*\(args.count)\r\n" + args.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined()
    }
}
