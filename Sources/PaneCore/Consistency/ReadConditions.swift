/// What a read at a spoke asks of its answer, parsed from its header and query parameters
/// (docs/architecture.md, "Reads that choose their consistency").
public struct ReadConditions: Sendable, Equatable {
    /// `Pane-Min-Index` or `minIndex`: the answer must reflect at least this position.
    public var minIndex: PositionToken?
    /// `minVersion` (point reads): the context must be at least at this version.
    public var minVersion: Int64?
    /// `index` (a blocking query): answer once the context (or prefix) changed after this position.
    public var changedAfter: PositionToken?
    /// `wait`: how long the spoke may wait, in ms (already capped).
    public var waitMs: Int
    /// `consistency=hub`: read from the hub.
    public var fromHub: Bool
    /// `fallback=hub`: when the conditions cannot be met in time, answer with the hub's copy.
    public var fallbackToHub: Bool

    public init(
        minIndex: PositionToken? = nil, minVersion: Int64? = nil, changedAfter: PositionToken? = nil, waitMs: Int = 0,
        fromHub: Bool = false, fallbackToHub: Bool = false
    ) {
        self.minIndex = minIndex
        self.minVersion = minVersion
        self.changedAfter = changedAfter
        self.waitMs = waitMs
        self.fromHub = fromHub
        self.fallbackToHub = fallbackToHub
    }

    /// Whether the read is a plain one: no condition, no wait, no hub.
    public var isPlain: Bool { minIndex == nil && minVersion == nil && changedAfter == nil && !fromHub }

    /// Parses the conditions; each error names the header or parameter. `maxWaitMs` caps `wait`
    /// (`spoke.maxWaitMs`).
    public static func parse(
        minIndexHeader: String?, query: (String) -> String?, pointRead: Bool, maxWaitMs: Int
    ) throws(ValidationError) -> ReadConditions {
        var conditions = ReadConditions()
        if let header = minIndexHeader {
            conditions.minIndex = try PositionToken(parsing: header, input: "Pane-Min-Index")
        } else if let value = query("minIndex") {
            conditions.minIndex = try PositionToken(parsing: value, input: "minIndex")
        }
        if let value = query("minVersion") {
            guard pointRead else { throw ValidationError(input: "minVersion", value: value, reason: "minVersion applies to one context's read only") }
            guard let version = Int64(value), version >= 1 else {
                throw ValidationError(input: "minVersion", value: value, reason: "minVersion is a version number, 1 or more")
            }
            conditions.minVersion = version
        }
        if let value = query("index") {
            conditions.changedAfter = try PositionToken(parsing: value, input: "index")
        }
        if let value = query("wait") {
            conditions.waitMs = min(try WaitDuration.parseMs(value, input: "wait"), maxWaitMs)
        }
        switch query("consistency") {
        case nil, "replica": break
        case "hub": conditions.fromHub = true
        case let other?: throw ValidationError(input: "consistency", value: other, reason: "consistency is replica or hub")
        }
        switch query("fallback") {
        case nil, "none": break
        case "hub": conditions.fallbackToHub = true
        case let other?: throw ValidationError(input: "fallback", value: other, reason: "fallback is hub or none")
        }
        return conditions
    }
}

/// Durations as people write them: `500ms`, `90s`, `15m`, `12h`, `7d` (and, where `bare`, a
/// number of milliseconds). One parser for `wait=` and the admin CLI's `--older-than`.
public enum DurationText {
    /// Milliseconds, or nil when `text` is not such a duration or does not fit in 64 bits.
    public static func milliseconds(_ text: String, bare: Bool) -> Int64? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        guard let (suffix, scale) = units.first(where: { text.hasSuffix($0.0) }) ?? (bare ? ("", 1) : nil),
            let value = Int64(text.dropLast(suffix.count)), value >= 0
        else { return nil }
        let (ms, overflow) = value.multipliedReportingOverflow(by: scale)
        return overflow ? nil : ms
    }
}

/// A read's `wait=`: a duration of at most 1 hour.
public enum WaitDuration {
    public static func parseMs(_ text: String, input: String) throws(ValidationError) -> Int {
        guard let ms = DurationText.milliseconds(text, bare: true), ms <= 3_600_000 else {
            throw ValidationError(input: input, value: text, reason: "a duration such as 500ms, 5s or 2m, at most 1 hour")
        }
        return Int(ms)
    }

    /// A blocking query's wait with up to 1/16 added at random, as Consul does, so that many
    /// clients that started together do not all return together.
    public static func jittered(_ ms: Int, using random: inout some RandomNumberGenerator) -> Int {
        guard ms >= 16 else { return ms }
        return ms + Int.random(in: 0...(ms / 16), using: &random)
    }
}

/// What a spoke does with a read, given its conditions and what the replica holds now.
public enum ReadVerdict: Sendable, Equatable {
    /// Answer with the replica's copy.
    case answer
    /// Not yet: wait for the replica to change (or for the deadline).
    case wait
    /// A token from another hub database's history: `400`, never a comparison.
    case otherHistory(token: String, replica: String)

    /// The verdict for a read of a replica of `region` at `watermark` that follows hub `hub`, where
    /// the context (point reads) is at `version` (nil when absent) and was last written by `seq`
    /// (for a list, the highest seq under the prefix).
    public static func decide(
        _ conditions: ReadConditions, region: Region, hub: String?, watermark: UInt64, version: Int64?, seq: UInt64
    ) -> ReadVerdict {
        var met = true
        if let token = conditions.minIndex {
            switch PositionCheck.check(token, region: region, watermark: watermark, hub: hub) {
            case .otherHistory(let token, let replica): return .otherHistory(token: token, replica: replica)
            case .behind, .notInRegion: met = false
            case .reached: break
            }
        }
        if let minVersion = conditions.minVersion, (version ?? 0) < minVersion { met = false }
        if let token = conditions.changedAfter {
            if let hub, hub != token.hub { return .otherHistory(token: token.hub, replica: hub) }
            // The context changed after the position when a later entry wrote it.
            if seq <= token.positions[region] ?? 0 { met = false }
        }
        return met ? .answer : .wait
    }

    /// When the wait is over and the verdict is still ``wait``: a blocking query (`index`) answers
    /// with what there is; a read that asked for a position or version cannot be answered from
    /// this replica (`412`, or the hub with `fallback=hub`).
    public static func atDeadline(_ conditions: ReadConditions) -> Bool {
        conditions.minIndex == nil && conditions.minVersion == nil
    }
}
