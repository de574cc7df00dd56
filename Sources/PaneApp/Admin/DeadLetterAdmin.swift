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

    /// Asks the hub to publish the current version of each named context again, then deletes
    /// the dead letters it covered. Letters without a readable context id are left in place.
    /// `token` (an `admin` token) is sent when the hub has a tokens file.
    public func replay(ids: [String]?, hub: (host: String, port: Int), token: String? = nil) throws -> (replayed: [Letter], skipped: [Letter], missing: [String]) {
        let conn = try connect()
        var letters: [Letter] = []
        if let ids {
            for id in ids {
                try Self.validate(id: id)
                guard let entry = try conn.xrange(key: key, start: id, end: id).first else {
                    throw AdminError.noDeadLetter(id, in: key)
                }
                letters.append(Letter(entry))
            }
        } else {
            letters = try conn.xrange(key: key).map(Letter.init)
        }
        let replayable = letters.filter { $0.ctx.flatMap { try? ContextID($0) } != nil }
        let skipped = letters.filter { $0.ctx.flatMap { try? ContextID($0) } == nil }
        guard !replayable.isEmpty else { return ([], skipped, []) }
        let contextIDs = Array(Set(replayable.compactMap(\.ctx))).sorted()
        let body = "{\"ids\":[" + contextIDs.map(JSONText.quote).joined(separator: ",") + "]}"
        let reply: HTTPProbe.Reply
        do {
            reply = try HTTPProbe(host: hub.host, port: hub.port, timeoutMs: 10_000, token: token)
                .request("POST", "/v1/regions/\(region.name)/republish", body: Array(body.utf8))
        } catch {
            throw AdminError.hubUnreachable(host: hub.host, port: hub.port, error)
        }
        guard reply.status == 200 else { throw AdminError.hubRefused(status: reply.status, reply.text) }
        let missing = (try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any])?["missing"] as? [String] ?? []
        try conn.xdel(key: key, ids: replayable.map(\.id))
        return (replayable, skipped, missing)
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
