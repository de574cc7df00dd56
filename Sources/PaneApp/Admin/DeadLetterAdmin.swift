import Foundation
import PaneCore
import PaneRedis

/// `pane admin dlq …`: list, show, replay and purge the dead letters of a region.
/// Blocking (hiredis): call it from a thread of its own.
public struct DeadLetterAdmin: Sendable {
    public let region: Region
    public let redis: RedisEndpoint

    public init(region: Region, redis: RedisEndpoint) {
        self.region = region
        self.redis = redis
    }

    /// One dead letter, with the fields people look for first.
    public struct Letter: Sendable, Codable {
        public let id: String
        public let entryID: String
        public let ctx: String?
        public let version: String?
        /// The contexts the letter's entry wrote: its `ctx`, or every operation's id for a
        /// `batch` entry (what a replay republishes).
        public let contexts: [String]
        public let kind: String
        public let reason: String
        public let replica: String
        public let consumer: String
        public let deliveries: Int
        public let timeMs: Int64
        /// Every field as stored, original and `dlq-*`, as text.
        public let fields: [[String]]

        init(_ entry: StreamEntry) {
            let fields = entry.fields ?? []
            func text(_ name: String) -> String? {
                fields.first { $0.0 == name }.map { String(decoding: $0.1, as: UTF8.self) }
            }
            id = entry.id
            entryID = text("dlq-entry-id") ?? text("original-id") ?? "?"
            ctx = text(StreamEntryCodec.Field.ctx)
            version = text(StreamEntryCodec.Field.ver)
            let body = fields.first { $0.0 == StreamEntryCodec.Field.body }?.1 ?? []
            if text(StreamEntryCodec.Field.op) == ContextOp.batch.rawValue, let ids = BatchEntryCodec.contextIDs(in: body) {
                contexts = ids.map(\.value)
            } else {
                contexts = ctx.flatMap { try? ContextID($0) }.map { [$0.value] } ?? []
            }
            kind = text("dlq-kind") ?? "?"
            reason = text("dlq-reason") ?? text("error") ?? "?"
            replica = text("dlq-replica") ?? "-"
            consumer = text("dlq-consumer") ?? "-"
            deliveries = Int(text("dlq-deliveries") ?? "") ?? 0
            timeMs = Int64(text("dlq-time") ?? text("time") ?? "") ?? 0
            self.fields = fields.map { [$0.0, String(decoding: $0.1, as: UTF8.self)] }
        }
    }

    var key: StreamKey { region.keys.deadLetters }

    private func connect() throws -> RedisConnection { try AdminRedis.connect(to: redis, region: region) }

    /// The oldest `limit` dead letters.
    public func list(limit: Int) throws -> [Letter] {
        try connect().xrange(key: key, count: limit).map(Letter.init)
    }

    /// One dead letter by its id in the dead-letter stream.
    public func show(id: String) throws -> Letter {
        try Self.validate(id: id)
        guard let entry = try connect().xrange(key: key, start: id, end: id).first else {
            throw AdminError.noDeadLetter(id, in: key)
        }
        return Letter(entry)
    }

    /// What ``replay(ids:hub:token:pageSize:progress:)`` did so far: ids, not letters, so a long
    /// replay holds one page of letters at a time.
    public struct ReplayOutcome: Sendable {
        /// The dead letters replayed and deleted.
        public var replayed: [String] = []
        /// The contexts the hub re-published.
        public var contexts: Set<String> = []
        /// The dead letters kept: no readable context id.
        public var skipped: [String] = []
        /// Context ids the hub does not know (deleted there).
        public var missing: [String] = []
        /// Pages read.
        public var pages = 0
    }

    /// Asks the hub to publish the current version of each named context again, then deletes
    /// the dead letters it covered. Letters without a readable context id are left in place.
    /// `token` (an `admin` token) is sent when the hub has a tokens file.
    ///
    /// With `ids` nil (`--all`), pages through the dead-letter stream, `pageSize` letters at a
    /// time (`XRANGE … COUNT`, continuing after the last id read), up to the last letter there was
    /// when it began: one republish request and one `XDEL` per page, `progress` after each. A
    /// failure stops it; the pages done stay done, and running it again continues.
    public func replay(
        ids: [String]?, hub: (host: String, port: Int), token: String? = nil, pageSize: Int = 500,
        progress: (ReplayOutcome) -> Void = { _ in }
    ) throws -> ReplayOutcome {
        let conn = try connect()
        var outcome = ReplayOutcome()
        guard ids == nil else {
            var letters: [Letter] = []
            for id in ids ?? [] {
                try Self.validate(id: id)
                guard let entry = try conn.xrange(key: key, start: id, end: id).first else {
                    throw AdminError.noDeadLetter(id, in: key)
                }
                letters.append(Letter(entry))
            }
            try replayPage(letters, conn: conn, hub: hub, token: token, into: &outcome)
            return outcome
        }
        // The last letter now: letters added while the replay runs wait for the next one.
        guard let last = try conn.xrevrange(key: key, count: 1).first?.id else { return outcome }
        var start = "-"
        while true {
            let page = try conn.xrange(key: key, start: start, end: last, count: pageSize).map(Letter.init)
            guard let lastRead = page.last?.id else { break }
            try replayPage(page, conn: conn, hub: hub, token: token, into: &outcome)
            outcome.pages += 1
            progress(outcome)
            guard page.count == pageSize, lastRead != last else { break }
            start = "(" + lastRead
        }
        return outcome
    }

    /// One republish request for the letters' contexts, then `XDEL` of the letters it covered.
    private func replayPage(
        _ letters: [Letter], conn: RedisConnection, hub: (host: String, port: Int), token: String?, into outcome: inout ReplayOutcome
    ) throws {
        let replayable = letters.filter { !$0.contexts.isEmpty }
        outcome.skipped += letters.filter { $0.contexts.isEmpty }.map(\.id)
        guard !replayable.isEmpty else { return }
        let contextIDs = Array(Set(replayable.flatMap(\.contexts))).sorted()
        // A republish request names at most 1,000 ids; batch letters may name more together.
        for start in stride(from: 0, to: contextIDs.count, by: 1_000) {
            let chunk = contextIDs[start..<min(contextIDs.count, start + 1_000)]
            let body = "{\"ids\":[" + chunk.map(JSONText.quote).joined(separator: ",") + "]}"
            let reply: HTTPProbe.Reply
            do {
                reply = try HTTPProbe(host: hub.host, port: hub.port, timeoutMs: 10_000, token: token)
                    .request("POST", "/v1/regions/\(region.name)/republish", body: Array(body.utf8))
            } catch {
                throw AdminError.hubUnreachable(host: hub.host, port: hub.port, error)
            }
            guard reply.status == 200 else { throw AdminError.hubRefused(status: reply.status, reply.text) }
            outcome.missing += (try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any])?["missing"] as? [String] ?? []
        }
        try conn.xdel(key: key, ids: replayable.map(\.id))
        outcome.replayed += replayable.map(\.id)
        outcome.contexts.formUnion(contextIDs)
    }

    /// Deletes one dead letter, or every one older than `olderThanMs`; returns how many.
    public func purge(id: String?, olderThanMs: Int64?) throws -> Int {
        let conn = try connect()
        if let id {
            try Self.validate(id: id)
            let removed = try conn.xdel(key: key, ids: [id])
            guard removed > 0 else { throw AdminError.noDeadLetter(id, in: key) }
            return removed
        }
        guard let olderThanMs else { throw AdminError.missingSelector }
        let cutoff = max(0, WallClock.nowMs() - olderThanMs)
        return try conn.xtrim(key: key, to: .minID("\(cutoff)-0"), approximate: false)
    }

    /// Stream ids are `<ms>-<n>`.
    static func validate(id: String) throws {
        let parts = id.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else {
            throw AdminError.badEntryID(id)
        }
    }

    /// Parses `90s`, `15m`, `2h`, `7d` into milliseconds.
    public static func duration(_ text: String) throws -> Int64 {
        // A duration too long to count in milliseconds is bad input, not a trap.
        guard let ms = DurationText.milliseconds(text, bare: false) else { throw AdminError.badDuration(text) }
        return ms
    }
}
