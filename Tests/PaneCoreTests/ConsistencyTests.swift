import PaneCore
import Testing

@Suite struct ConsistencyTests {
    let a = try! Region("eu-west.1")
    let b = try! Region("us_east")

    @Test func tokensRoundTripAndStayOpaque() throws {
        let token = PositionToken(hub: "4f2a9c0d11aa", positions: [a: 42, b: 7])
        #expect(token.encoded.hasPrefix("p1."))
        #expect(token.encoded.utf8.allSatisfy { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) })
        #expect(try PositionToken(parsing: token.encoded, input: "t") == token)
        let empty = PositionToken(hub: "x", positions: [:])
        #expect(try PositionToken(parsing: empty.encoded, input: "t") == empty)
    }

    /// The wire form is pinned: tokens handed out before a change must still read the same, and
    /// ``PositionToken/encoded`` builds it byte by byte (regions in name order, seqs in decimal).
    @Test func theWireFormIsHubBarRegionsInNameOrder() {
        let token = PositionToken(hub: "4f2a9c0d11aa", positions: [b: 7, a: 18_446_744_073_709_551_615])
        #expect(token.encoded == "p1." + Base64URL.encode(Array("4f2a9c0d11aa|eu-west.1=18446744073709551615,us_east=7".utf8)))
        #expect(PositionToken(hub: "h", positions: [a: 0]).encoded == "p1." + Base64URL.encode(Array("h|eu-west.1=0".utf8)))
        #expect(PositionToken(hub: "h", positions: [:]).encoded == "p1." + Base64URL.encode(Array("h|".utf8)))
    }

    @Test(arguments: ["", "p1.", "p2.abc", "p1.***", "p1." + Base64URL.encode(Array("HUB|a=1".utf8)), "p1." + Base64URL.encode(Array("h|a=x".utf8)),
        "p1." + Base64URL.encode(Array("h|a=1,a=2".utf8)), "p1." + Base64URL.encode(Array("h|A=1".utf8)), "p1." + Base64URL.encode(Array("h|a=99999999999999999999".utf8))])
    func badTokensAreNamed(text: String) {
        #expect(throws: ValidationError.self) { try PositionToken(parsing: text, input: "minIndex") }
        do { _ = try PositionToken(parsing: text, input: "minIndex") } catch { #expect(error.description.contains("minIndex")) }
    }

    @Test func base64URLMatchesTheRFCVectors() {
        let vectors = [("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy")]
        for (plain, encoded) in vectors {
            #expect(Base64URL.encode(Array(plain.utf8)) == encoded)
            #expect(Base64URL.decode(Substring(encoded)) == Array(plain.utf8))
        }
        #expect(Base64URL.encode([0xFB, 0xFF]) == "-_8")
        #expect(Base64URL.decode("Z") == nil)
    }

    @Test func checkComparesTheWatermarkInTheReplicasRegion() {
        let token = PositionToken(hub: "h1", positions: [a: 10])
        #expect(PositionCheck.check(token, region: a, watermark: 10, hub: "h1") == .reached)
        #expect(PositionCheck.check(token, region: a, watermark: 9, hub: "h1") == .behind(needed: 10, replica: 9))
        #expect(PositionCheck.check(token, region: b, watermark: 100, hub: "h1") == .notInRegion)
        #expect(PositionCheck.check(token, region: a, watermark: 100, hub: "h2") == .otherHistory(token: "h1", replica: "h2"))
        #expect(PositionCheck.check(token, region: a, watermark: 10, hub: nil) == .reached)
    }

    @Test func conditionsAreParsedAndNamed() throws {
        let token = PositionToken(hub: "h1", positions: [a: 3]).encoded
        func parse(_ query: [String: String], header: String? = nil, point: Bool = true) throws(ValidationError) -> ReadConditions {
            try ReadConditions.parse(minIndexHeader: header, query: { query[$0] }, pointRead: point, maxWaitMs: 60_000)
        }
        #expect(try parse([:]).isPlain)
        #expect(try parse([:], header: token).minIndex?.positions[a] == 3)
        #expect(try parse(["minIndex": token, "wait": "5s"]).waitMs == 5_000)
        #expect(try parse(["wait": "10m"]).waitMs == 60_000, "capped by spoke.maxWaitMs")
        #expect(try parse(["wait": "250ms", "minVersion": "4"]).minVersion == 4)
        #expect(try parse(["consistency": "hub"]).fromHub)
        #expect(try parse(["fallback": "hub"]).fallbackToHub)
        #expect(try parse(["index": token]).changedAfter != nil)
        for (query, named) in [
            (["wait": "soon"], "wait"), (["wait": "-1s"], "wait"), (["minVersion": "0"], "minVersion"), (["consistency": "strong"], "consistency"),
            (["fallback": "maybe"], "fallback"), (["minIndex": "nope"], "minIndex"), (["index": "p1.!"], "index"),
        ] {
            do {
                _ = try parse(query)
                Issue.record("accepted \(query)")
            } catch {
                #expect(error.input == named)
            }
        }
        #expect(throws: ValidationError.self) { try parse(["minVersion": "2"], point: false) }
    }

    @Test func durationsAndJitter() throws {
        #expect(try WaitDuration.parseMs("500ms", input: "w") == 500)
        #expect(try WaitDuration.parseMs("5s", input: "w") == 5_000)
        #expect(try WaitDuration.parseMs("2m", input: "w") == 120_000)
        #expect(try WaitDuration.parseMs("750", input: "w") == 750)
        #expect(throws: ValidationError.self) { try WaitDuration.parseMs("2h", input: "w") }
        #expect(DurationText.milliseconds("5m", bare: false) == 300_000 && DurationText.milliseconds("5ms", bare: false) == 5)
        #expect(DurationText.milliseconds("7d", bare: false) == 604_800_000 && DurationText.milliseconds("12h", bare: false) == 43_200_000)
        #expect(DurationText.milliseconds("1500", bare: false) == nil && DurationText.milliseconds("1500", bare: true) == 1_500)
        #expect(DurationText.milliseconds("999999999999999d", bare: false) == nil, "overflow is bad input")
        #expect(DurationText.milliseconds("-1s", bare: true) == nil && DurationText.milliseconds("s", bare: true) == nil)
        var random = SplitMix64(seed: 1)
        var seen = Set<Int>()
        for _ in 0..<200 {
            let ms = WaitDuration.jittered(16_000, using: &random)
            #expect((16_000...17_000).contains(ms))
            seen.insert(ms)
        }
        #expect(seen.count > 50, "the jitter varies")
        #expect(WaitDuration.jittered(0, using: &random) == 0)
    }
}

@Suite struct ReadVerdictTests {
    let a = try! Region("a")
    let b = try! Region("b")

    @Test func positionsVersionsAndChanges() throws {
        let at10 = PositionToken(hub: "h", positions: [a: 10])
        func decide(_ c: ReadConditions, watermark: UInt64 = 10, version: Int64? = 3, seq: UInt64 = 8, hub: String? = "h") -> ReadVerdict {
            ReadVerdict.decide(c, region: a, hub: hub, watermark: watermark, version: version, seq: seq)
        }
        #expect(decide(ReadConditions()) == .answer)
        #expect(decide(ReadConditions(minIndex: at10)) == .answer)
        #expect(decide(ReadConditions(minIndex: at10), watermark: 9) == .wait)
        #expect(decide(ReadConditions(minIndex: PositionToken(hub: "h", positions: [b: 1]))) == .wait, "not in this region: never met")
        #expect(decide(ReadConditions(minIndex: at10), hub: "other") == .otherHistory(token: "h", replica: "other"))
        #expect(decide(ReadConditions(minVersion: 3)) == .answer)
        #expect(decide(ReadConditions(minVersion: 4)) == .wait)
        #expect(decide(ReadConditions(minVersion: 1), version: nil) == .wait)
        #expect(decide(ReadConditions(changedAfter: at10), seq: 10) == .wait)
        #expect(decide(ReadConditions(changedAfter: at10), seq: 11) == .answer)
        #expect(decide(ReadConditions(changedAfter: at10), hub: "z") == .otherHistory(token: "h", replica: "z"))
        #expect(ReadVerdict.atDeadline(ReadConditions(changedAfter: at10)))
        #expect(!ReadVerdict.atDeadline(ReadConditions(minIndex: at10, changedAfter: at10)))
    }
}

@Suite struct WriteConditionTests {
    @Test func headersAreParsedAndNamed() throws {
        #expect(try WriteCondition.parse(ifMatch: nil, ifNoneMatch: nil) == nil)
        #expect(try WriteCondition.parse(ifMatch: "\"3\"", ifNoneMatch: nil) == .version(3))
        #expect(try WriteCondition.parse(ifMatch: " * ", ifNoneMatch: nil) == .exists)
        #expect(try WriteCondition.parse(ifMatch: nil, ifNoneMatch: "*") == .absent)
        for (match, none, named) in [("3", nil, "If-Match"), ("\"0\"", nil, "If-Match"), ("W/\"3\"", nil, "If-Match"), (nil, "\"3\"", "If-None-Match"), ("\"1\"", "*", "If-Match")] as [(String?, String?, String)] {
            do {
                _ = try WriteCondition.parse(ifMatch: match, ifNoneMatch: none)
                Issue.record("accepted \(String(describing: match)) \(String(describing: none))")
            } catch {
                #expect(error.input == named)
            }
        }
    }

    @Test func holds() {
        #expect(WriteCondition.version(2).holds(version: 2, deleted: false))
        #expect(!WriteCondition.version(2).holds(version: 3, deleted: false))
        #expect(!WriteCondition.version(2).holds(version: 2, deleted: true))
        #expect(WriteCondition.exists.holds(version: 1, deleted: false))
        #expect(!WriteCondition.exists.holds(version: 0, deleted: true))
        #expect(WriteCondition.absent.holds(version: 0, deleted: true))
        #expect(WriteCondition.absent.holds(version: 4, deleted: true))
        #expect(!WriteCondition.absent.holds(version: 4, deleted: false))
    }
}

@Suite struct ReplicaStateTests {
    @Test func theRulesInOrder() {
        #expect(ReplicaState.classify(heartbeatAgeMs: nil, resyncing: false, lagMs: 0) == .down)
        #expect(ReplicaState.classify(heartbeatAgeMs: 31_000, resyncing: true, lagMs: 0) == .down)
        #expect(ReplicaState.classify(heartbeatAgeMs: 800, resyncing: true, lagMs: 60_000) == .resyncing)
        #expect(ReplicaState.classify(heartbeatAgeMs: 6_000, resyncing: false, lagMs: 60_000) == .stale)
        #expect(ReplicaState.classify(heartbeatAgeMs: 900, resyncing: false, lagMs: 5_001) == .lagging)
        #expect(ReplicaState.classify(heartbeatAgeMs: 900, resyncing: false, lagMs: 5_000) == .ok)
    }

    @Test func humanSizes() {
        #expect(HumanSize.bytes(0) == "0 B")
        #expect(HumanSize.bytes(1023) == "1023 B")
        #expect(HumanSize.bytes(1536) == "1.5 KiB")
        #expect(HumanSize.bytes(12 * 1_048_576) == "12.0 MiB")
        #expect(HumanSize.duration(ms: 850) == "850 ms")
        #expect(HumanSize.duration(ms: 4_240) == "4.2 s")
        #expect(HumanSize.duration(ms: 185_000) == "3 min 5 s")
        #expect(HumanSize.duration(ms: 7_800_000) == "2 h 10 min")
    }
}

@Suite struct RedisDurabilityTests {
    @Test func onlyNoevictionKeepsTheStreams() {
        let safe = RedisDurability(config: ["maxmemory-policy": "noeviction", "maxmemory": "0", "appendonly": "yes"])
        #expect(!safe.evicts && safe.problem == nil && safe.appendOnly && safe.maxMemoryBytes == 0)
        let lru = RedisDurability(config: ["maxmemory-policy": "allkeys-lru", "maxmemory": "1048576", "appendonly": "no"])
        #expect(lru.evicts && lru.problem?.contains("allkeys-lru") == true && lru.problem?.contains("noeviction") == true)
        #expect(RedisDurability(config: [:]).evicts, "an unknown policy is not trusted")
        let report = "# Memory\r\nused_memory:1\r\nmaxmemory:1048576\r\nmaxmemory_policy:allkeys-lru\r\n\n"
        let info = RedisDurability(info: report + "# Persistence\r\naof_enabled:1\r\n")
        #expect(info == RedisDurability(policy: "allkeys-lru", maxMemoryBytes: 1_048_576, appendOnly: true))
        #expect(RedisDurability(info: "").evicts, "a report without the policy is not trusted")
    }
}
