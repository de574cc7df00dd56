import PaneCore
import Testing

@Suite struct DeliveryPolicyTests {
    let policy = DeliveryPolicy(maxDeliveries: 5, initialBackoffMs: 100, maxBackoffMs: 1_000)

    @Test func permanentFailuresAreDeadLetteredAtOnce() throws {
        var fields = StreamEntryCodec.encode(
            ContextUpdate(seq: 1, id: try ContextID("a"), version: 1, op: .put, body: Array("1".utf8), hubTimeUs: 0))
        fields[1] = ("ver", Array("x".utf8))
        let error = try #require(throws: EntryError.self) {
            try StreamEntryCodec.decode(entryID: "1-0", fields: fields, rules: BodyRules())
        }
        let action = policy.decide(.permanent(error), deliveries: 1)
        guard case .deadLetter(let reason) = action else {
            Issue.record("expected a dead letter, got \(action)")
            return
        }
        #expect(reason.contains("badVersion"))
    }

    @Test func transientFailuresBackOffThenDeadLetter() {
        let failure = DeliveryPolicy.Failure.transient("database is locked")
        #expect(policy.decide(failure, deliveries: 1) == .retry(afterMs: 100))
        #expect(policy.decide(failure, deliveries: 2) == .retry(afterMs: 200))
        #expect(policy.decide(failure, deliveries: 4) == .retry(afterMs: 800))
        guard case .deadLetter(let reason) = policy.decide(failure, deliveries: 5) else {
            Issue.record("the fifth delivery must dead-letter")
            return
        }
        #expect(reason.contains("5 deliveries") && reason.contains("database is locked"))
        #expect(policy.decide(failure, deliveries: 40) != .retry(afterMs: 0))
    }

    @Test func backoffIsCapped() {
        let patient = DeliveryPolicy(maxDeliveries: 100, initialBackoffMs: 100, maxBackoffMs: 1_000)
        #expect(patient.decide(.transient("x"), deliveries: 30) == .retry(afterMs: 1_000))
    }

    @Test func janitorRemovesOnlyIdleEmptyOthers() {
        let consumers = [
            ConsumerJanitor.Consumer(name: "me", pending: 0, idleMs: 9_999_999),
            ConsumerJanitor.Consumer(name: "old-empty", pending: 0, idleMs: 7_200_000),
            ConsumerJanitor.Consumer(name: "old-busy", pending: 3, idleMs: 7_200_000),
            ConsumerJanitor.Consumer(name: "fresh", pending: 0, idleMs: 10),
        ]
        #expect(ConsumerJanitor.removable(consumers, me: "me", idleThresholdMs: 3_600_000) == ["old-empty"])
    }
}
