import PaneCore
import PaneHub
import PaneRedis
import PaneSpoke
import PaneStore

/// Every configuration key, with its default, in one place. The README's table is made from this list.
public enum SettingKey {
    public static let redisURL = "redis.url"  // default redis://127.0.0.1:6379
    public static let redisCluster = "redis.cluster"  // host:port,host:port: a Redis Cluster's seed nodes
    public static let regions = "hub.regions"  // required for the hub
    public static let redisPasswordFile = "redis.passwordFile"  // default none: the Redis password, from a file
    public static let regionRedisPrefix = "redis.region"  // redis.region.<name>: that region's Redis URL
    public static let hubDB = "hub.db"  // default hub.sqlite
    public static let hubHTTP = "hub.http"  // default 127.0.0.1:7400
    public static let hubTokensFile = "hub.tokensFile"  // default none: required unless hub.http is loopback or hub.insecureNoAuth
    public static let hubInsecureNoAuth = "hub.insecureNoAuth"  // default false
    public static let hubAllowEviction = "hub.allowEviction"  // default false: refuse a Redis whose maxmemory-policy evicts
    public static let hubBatch = "hub.batchSize"  // default 2000
    public static let hubDurability = "hub.durability"  // default full: full | sync-before-publish
    public static let antiEntropyIntervalMs = "hub.antiEntropyIntervalMs"  // default 60000
    public static let snapshotTtlSeconds = "hub.snapshotTtlSeconds"  // default 3600
    public static let replicaTimeoutMs = "hub.replicaTimeoutMs"  // default 300000
    public static let retentionMaxEntries = "hub.retentionMaxEntries"  // default 1000000, 0 = no cap
    public static let retentionMaxBytes = "hub.retentionMaxBytes"  // default 1073741824 (1 GiB), 0 = no cap
    public static let retentionMaxAgeSeconds = "hub.retentionMaxAgeSeconds"  // default 86400, 0 = no cap
    public static let retentionIntervalMs = "hub.retentionIntervalMs"  // default 5000
    public static let maxSnapshotsPerMinute = "hub.maxSnapshotsPerMinute"  // default 20
    /// Deprecated alias of ``retentionMaxEntries``, used when that key is not set.
    public static let streamMaxLength = "hub.streamMaxLength"
    public static let spokeRegion = "spoke.region"  // required for a spoke
    public static let spokeReplica = "spoke.replica"  // default a
    public static let spokeDB = "spoke.db"  // default <region>-<replica>.sqlite
    public static let spokeHTTP = "spoke.http"  // default 127.0.0.1:7401
    public static let spokeTokensFile = "spoke.tokensFile"  // default none: required unless spoke.http is loopback or spoke.insecureNoAuth
    public static let spokeInsecureNoAuth = "spoke.insecureNoAuth"  // default false
    public static let spokeConsumer = "spoke.consumer"  // default <host>-<pid>
    public static let spokeBatch = "spoke.batchSize"  // default 500
    public static let spokeBlockMs = "spoke.blockMs"  // default 1000
    public static let spokeLatencyLog = "spoke.latencyLog"  // default none: file of "seq hubMs replicaMs" lines
    public static let spokeMaxDeliveries = "spoke.maxDeliveries"  // default 5
    public static let spokeClaimIdleMs = "spoke.claimIdleMs"  // default 30000
    public static let spokeConsumerIdleMs = "spoke.consumerIdleMs"  // default 3600000
    public static let spokeDigestIntervalMs = "spoke.digestIntervalMs"  // default 60000
    public static let spokeGapStallMs = "spoke.gapStallMs"  // default 2000
    public static let spokeResyncTimeoutMs = "spoke.resyncTimeoutMs"  // default 60000
    public static let spokeMaxLagMs = "spoke.maxLagMs"  // default 30000
    public static let spokeMaxWaitMs = "spoke.maxWaitMs"  // default 60000: the cap on a read's wait=
    public static let spokeMaxWatchers = "spoke.maxWatchers"  // default 10000: open GET /v1/watch streams per worker
    public static let spokeWatchProgressMs = "spoke.watchProgressMs"  // default 5000: a watch's progress interval
    public static let spokeWatchWriteTimeoutMs = "spoke.watchWriteTimeoutMs"  // default 10000: cut off a watcher that does not read
    public static let spokeHubURL = "spoke.hubURL"  // default none: http://host:port of the hub, for consistency=hub and fallback=hub
    public static let spokeHubTokenFile = "spoke.hubTokenFile"  // default none: a file holding the token the spoke sends to the hub
    public static let dlqMaxLength = "dlq.maxLength"  // default 100000
    public static let dlqMaxBytes = "dlq.maxBytes"  // default 268435456 (256 MiB), 0 = no cap
    public static let dlqMaxAgeSeconds = "dlq.maxAgeSeconds"  // default 604800 (7 days)
    public static let bodyMaxBytes = "body.maxBytes"  // default 1048576
    public static let httpBatchMaxBytes = "http.batchMaxBytes"  // default 4194304: the largest POST /v1/batch body (hub)
    public static let httpIdleTimeoutMs = "http.idleTimeoutMs"  // default 30000, 0 = none
    public static let httpRequestReadTimeoutMs = "http.requestReadTimeoutMs"  // default 10000, 0 = none
    public static let httpMaxConnections = "http.maxConnections"  // default 16384
    public static let logLevel = "log.level"  // default info
}

extension HubConfiguration {
    /// Reads the hub's settings; `hub.regions` is required.
    public static func load(from source: ConfigSource) throws(ValidationError) -> HubConfiguration {
        guard let regions = try source.regions(SettingKey.regions), !regions.isEmpty else {
            throw ValidationError(
                input: "setting \(SettingKey.regions)", value: "",
                reason: "the hub needs its regions: --regions us-east-1,eu-west-1 or PANE_HUB_REGIONS")
        }
        var config = HubConfiguration(regions: regions)
        config.defaultRedis = try source.defaultRedis()
        for region in regions {
            if let redis = try source.redis("\(SettingKey.regionRedisPrefix).\(region.name)") {
                config.redisByRegion[region] = redis
            }
        }
        config.redisCluster = try source.cluster(SettingKey.redisCluster, regions: regions)
        if let db = try source.string(SettingKey.hubDB) { config.databasePath = db }
        if let http = try source.address(SettingKey.hubHTTP) {
            config.httpHost = http.host
            config.httpPort = http.port
        }
        config.tokensFile = try source.string(SettingKey.hubTokensFile)
        config.insecureNoAuth = try source.bool(SettingKey.hubInsecureNoAuth, default: false)
        try requireTokens(
            role: "hub", host: config.httpHost, port: config.httpPort, tokensFile: config.tokensFile, insecure: config.insecureNoAuth,
            keys: (SettingKey.hubTokensFile, SettingKey.hubInsecureNoAuth, "PANE_HUB_TOKENS_FILE"))
        config.bodyRules = BodyRules(maxBytes: try source.int(SettingKey.bodyMaxBytes, default: BodyRules.defaultMaxBytes, range: 2...(256 << 20)))
        // Capped at half a replica's limit on a batch entry, which also holds framing per operation.
        config.batchMaxBytes = try source.int(
            SettingKey.httpBatchMaxBytes, default: config.batchMaxBytes, range: 1024...(BatchEntryCodec.maxBytes / 2))
        config.publisher.batchSize = try source.int(SettingKey.hubBatch, default: config.publisher.batchSize, range: 1...100_000)
        let entriesDefault = try source.int(SettingKey.streamMaxLength, default: config.resync.retentionMaxEntries, range: 0...Int(Int32.max))
        config.resync.retentionMaxEntries = try source.int(SettingKey.retentionMaxEntries, default: entriesDefault, range: 0...Int(Int32.max))
        config.resync.retentionMaxBytes = try source.int(
            SettingKey.retentionMaxBytes, default: config.resync.retentionMaxBytes, range: 0...(1 << 44))
        config.resync.retentionMaxAgeSeconds = try source.int(
            SettingKey.retentionMaxAgeSeconds, default: config.resync.retentionMaxAgeSeconds, range: 0...(10 * 365 * 86_400))
        config.resync.antiEntropyIntervalMs = try source.int(
            SettingKey.antiEntropyIntervalMs, default: config.resync.antiEntropyIntervalMs, range: 100...86_400_000)
        config.resync.snapshotTtlSeconds = try source.int(SettingKey.snapshotTtlSeconds, default: config.resync.snapshotTtlSeconds, range: 10...(30 * 86_400))
        config.resync.replicaTimeoutMs = try source.int(SettingKey.replicaTimeoutMs, default: config.resync.replicaTimeoutMs, range: 1_000...(30 * 86_400_000))
        config.resync.retentionIntervalMs = try source.int(
            SettingKey.retentionIntervalMs, default: config.resync.retentionIntervalMs, range: 100...3_600_000)
        config.resync.maxSnapshotsPerMinute = try source.int(
            SettingKey.maxSnapshotsPerMinute, default: config.resync.maxSnapshotsPerMinute, range: 1...100_000)
        config.httpIdleTimeoutMs = try source.httpIdleTimeoutMs()
        config.httpRequestReadTimeoutMs = try source.httpRequestReadTimeoutMs()
        config.httpMaxConnections = try source.httpMaxConnections()
        config.allowEviction = try source.bool(SettingKey.hubAllowEviction, default: false)
        if let text = try source.string(SettingKey.hubDurability) {
            guard let durability = HubDurability(rawValue: text) else {
                throw ValidationError(
                    input: "setting \(SettingKey.hubDurability)", value: text,
                    reason: "expected one of \(HubDurability.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            config.durability = durability
        }
        return config
    }
}

extension SpokeConfiguration {
    /// Reads a spoke's settings; `spoke.region` is required.
    public static func load(from source: ConfigSource) throws(ValidationError) -> SpokeConfiguration {
        guard let regionText = try source.string(SettingKey.spokeRegion) else {
            throw ValidationError(
                input: "setting \(SettingKey.spokeRegion)", value: "",
                reason: "a spoke serves one region: --region eu-west-1 or PANE_SPOKE_REGION")
        }
        let region: Region
        do { region = try Region(regionText) } catch {
            throw ValidationError(input: "setting \(SettingKey.spokeRegion)", value: regionText, reason: error.reason)
        }
        let replicaText = try source.string(SettingKey.spokeReplica) ?? "a"
        let replica: ReplicaName
        do { replica = try ReplicaName(replicaText) } catch {
            throw ValidationError(input: "setting \(SettingKey.spokeReplica)", value: replicaText, reason: error.reason)
        }
        let db = try source.string(SettingKey.spokeDB) ?? "\(region.name)-\(replica.name).sqlite"
        var config = SpokeConfiguration(region: region, replica: replica, databasePath: db)
        if let redis = try source.redis("\(SettingKey.regionRedisPrefix).\(region.name)") {
            config.redis = redis
        } else {
            config.redis = try source.defaultRedis()
        }
        config.redisCluster = try source.cluster(SettingKey.redisCluster, regions: [region])
        if let http = try source.address(SettingKey.spokeHTTP) {
            config.httpHost = http.host
            config.httpPort = http.port
        }
        config.tokensFile = try source.string(SettingKey.spokeTokensFile)
        config.insecureNoAuth = try source.bool(SettingKey.spokeInsecureNoAuth, default: false)
        try requireTokens(
            role: "spoke", host: config.httpHost, port: config.httpPort, tokensFile: config.tokensFile, insecure: config.insecureNoAuth,
            keys: (SettingKey.spokeTokensFile, SettingKey.spokeInsecureNoAuth, "PANE_SPOKE_TOKENS_FILE"))
        if let consumer = try source.string(SettingKey.spokeConsumer) {
            guard !consumer.isEmpty, consumer.utf8.count <= 200, consumer.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
                throw ValidationError(input: "setting \(SettingKey.spokeConsumer)", value: consumer, reason: "1-200 visible ASCII characters")
            }
            config.consumer = consumer
        }
        config.batchSize = try source.int(SettingKey.spokeBatch, default: config.batchSize, range: 1...100_000)
        config.blockMs = try source.int(SettingKey.spokeBlockMs, default: config.blockMs, range: 1...60_000)
        config.latencyLogPath = try source.string(SettingKey.spokeLatencyLog)
        config.delivery.maxDeliveries = try source.int(SettingKey.spokeMaxDeliveries, default: config.delivery.maxDeliveries, range: 1...1_000)
        config.claimIdleMs = try source.int(SettingKey.spokeClaimIdleMs, default: config.claimIdleMs, range: 100...86_400_000)
        config.consumerIdleMs = try source.int(SettingKey.spokeConsumerIdleMs, default: config.consumerIdleMs, range: 1_000...Int(Int32.max))
        config.digestIntervalMs = try source.int(SettingKey.spokeDigestIntervalMs, default: config.digestIntervalMs, range: 100...86_400_000)
        config.gaps.stallMs = Int64(try source.int(SettingKey.spokeGapStallMs, default: Int(config.gaps.stallMs), range: 100...3_600_000))
        config.gaps.requestTimeoutMs = Int64(
            try source.int(SettingKey.spokeResyncTimeoutMs, default: Int(config.gaps.requestTimeoutMs), range: 1_000...86_400_000))
        config.maxLagMs = Int64(try source.int(SettingKey.spokeMaxLagMs, default: Int(config.maxLagMs), range: 100...86_400_000))
        config.deadLetterMaxLength = try source.int(SettingKey.dlqMaxLength, default: config.deadLetterMaxLength, range: 1...100_000_000)
        config.deadLetterMaxBytes = try source.int(SettingKey.dlqMaxBytes, default: config.deadLetterMaxBytes, range: 0...(1 << 40))
        config.deadLetterMaxAgeMs = Int64(
            try source.int(SettingKey.dlqMaxAgeSeconds, default: Int(config.deadLetterMaxAgeMs / 1000), range: 1...(365 * 86_400))) * 1000
        config.bodyRules = BodyRules(maxBytes: try source.int(SettingKey.bodyMaxBytes, default: BodyRules.defaultMaxBytes, range: 2...(256 << 20)))
        config.maxWaitMs = try source.int(SettingKey.spokeMaxWaitMs, default: config.maxWaitMs, range: 0...3_600_000)
        config.maxWatchers = try source.int(SettingKey.spokeMaxWatchers, default: config.maxWatchers, range: 0...1_000_000)
        config.watchProgressMs = try source.int(SettingKey.spokeWatchProgressMs, default: config.watchProgressMs, range: 100...3_600_000)
        config.watchWriteTimeoutMs = try source.int(
            SettingKey.spokeWatchWriteTimeoutMs, default: config.watchWriteTimeoutMs, range: 100...3_600_000)
        config.httpIdleTimeoutMs = try source.httpIdleTimeoutMs()
        config.httpRequestReadTimeoutMs = try source.httpRequestReadTimeoutMs()
        config.httpMaxConnections = try source.httpMaxConnections()
        if let url = try source.string(SettingKey.spokeHubURL) {
            config.hubURL = try HubURL.parse(url, key: SettingKey.spokeHubURL)
        }
        config.hubTokenFile = try source.string(SettingKey.spokeHubTokenFile)
        return config
    }
}

/// Secure by default: a hub or spoke that can be reached from other machines (its HTTP address
/// is not loopback, ``PaneCore/ListenAddress``) needs a tokens file, unless its `insecureNoAuth`
/// setting says otherwise.
func requireTokens(
    role: String, host: String, port: Int, tokensFile: String?, insecure: Bool, keys: (file: String, insecure: String, environment: String)
) throws(ValidationError) {
    guard tokensFile == nil, !insecure, !ListenAddress.isLoopback(host) else { return }
    throw ValidationError(
        input: "setting \(keys.file)", value: "",
        reason: "the \(role) listens on \(host):\(port), which other machines can reach, and has no tokens file: "
            + "give one (--tokens-file or \(keys.environment)) or, to serve without authentication, --insecure-no-auth (\(keys.insecure))")
}

/// `spoke.hubURL`: `http://host:port` (or `host:port`), no path; the hub speaks plain HTTP.
enum HubURL {
    static func parse(_ text: String, key: String) throws(ValidationError) -> (host: String, port: Int) {
        var rest = Substring(text)
        if rest.hasPrefix("http://") { rest = rest.dropFirst("http://".count) }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
        guard !text.hasPrefix("https://"), parts.count == 2, !parts[0].isEmpty, !parts[0].contains("/"),
            let port = Int(parts[1]), (1...65_535).contains(port)
        else {
            throw ValidationError(input: "setting \(key)", value: text, reason: "the hub's address as http://host:port (plain HTTP, no path)")
        }
        return (String(parts[0]), port)
    }
}

extension ConfigSource {
    /// `http.idleTimeoutMs` for both servers: 0 turns it off.
    func httpIdleTimeoutMs() throws(ValidationError) -> Int? {
        let value = try int(SettingKey.httpIdleTimeoutMs, default: 30_000, range: 0...86_400_000)
        return value == 0 ? nil : value
    }

    /// `http.requestReadTimeoutMs` for both servers: 0 turns it off.
    func httpRequestReadTimeoutMs() throws(ValidationError) -> Int? {
        let value = try int(SettingKey.httpRequestReadTimeoutMs, default: 10_000, range: 0...86_400_000)
        return value == 0 ? nil : value
    }

    /// `http.maxConnections` for both servers.
    func httpMaxConnections() throws(ValidationError) -> Int {
        try int(SettingKey.httpMaxConnections, default: 16_384, range: 1...1_000_000)
    }
}
