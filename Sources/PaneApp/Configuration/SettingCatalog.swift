import PaneCore

/// Every configuration key, in one list: the strict checks of files and `PANE_…` variables,
/// `pane config check` and `pane config sample` (and so `ops/pane.sample.json`) all read it.
/// ``SettingKey`` names the same keys for the code that reads them.
public enum SettingCatalog {
    /// `redis.region.<name>`: one region's Redis. The only keys not listed one by one.
    public static let regionRedisPrefix = SettingKey.regionRedisPrefix + "."

    public static let all: [Setting] = [
        Setting(SettingKey.redisURL, .string("redis://127.0.0.1:6379"), flag: "--redis", isURL: true),
        Setting(SettingKey.redisCluster, .none("no cluster: redis.url and redis.region.<name>"), flag: "--redis-cluster"),
        Setting(SettingKey.redisPasswordFile, .none("the password in the URL, if any"), flag: "--redis-password-file"),
        Setting(SettingKey.regions, .none("required for pane hub"), flag: "--regions"),
        Setting(SettingKey.hubDB, .string("hub.sqlite"), flag: "--db"),
        Setting(SettingKey.hubHTTP, .string("127.0.0.1:7400"), flag: "--http"),
        Setting(SettingKey.hubTokensFile, .none("no tokens; required unless hub.http is loopback or hub.insecureNoAuth"), flag: "--tokens-file"),
        Setting(SettingKey.hubInsecureNoAuth, .bool(false), flag: "--insecure-no-auth"),
        Setting(SettingKey.hubAllowEviction, .bool(false), flag: "--allow-eviction"),
        Setting(SettingKey.hubBatch, .int(2000), flag: "--batch-size"),
        Setting(SettingKey.hubDurability, .string("full"), flag: "--durability"),
        Setting(SettingKey.antiEntropyIntervalMs, .int(60_000), flag: "--anti-entropy-interval-ms"),
        Setting(SettingKey.retentionMaxEntries, .int(1_000_000), flag: "--retention-max-entries"),
        Setting(SettingKey.retentionMaxBytes, .int(1 << 30), flag: "--retention-max-bytes"),
        Setting(SettingKey.retentionMaxAgeSeconds, .int(86_400), flag: "--retention-max-age-seconds"),
        Setting(SettingKey.replicaTimeoutMs, .int(300_000)),
        Setting(SettingKey.snapshotTtlSeconds, .int(3600)),
        Setting(SettingKey.retentionIntervalMs, .int(5000)),
        Setting(SettingKey.maxSnapshotsPerMinute, .int(20), flag: "--max-snapshots-per-minute"),
        Setting(SettingKey.streamMaxLength, .none("deprecated alias of hub.retentionMaxEntries"), flag: "--stream-max-length"),
        Setting(SettingKey.spokeRegion, .none("required for pane spoke"), flag: "--region"),
        Setting(SettingKey.spokeReplica, .string("a"), flag: "--replica"),
        Setting(SettingKey.spokeDB, .none("<region>-<replica>.sqlite"), flag: "--db"),
        Setting(SettingKey.spokeHTTP, .string("127.0.0.1:7401"), flag: "--http"),
        Setting(SettingKey.spokeTokensFile, .none("no tokens; required unless spoke.http is loopback or spoke.insecureNoAuth"), flag: "--tokens-file"),
        Setting(SettingKey.spokeInsecureNoAuth, .bool(false), flag: "--insecure-no-auth"),
        Setting(SettingKey.spokeConsumer, .none("<hostname>-<pid>"), flag: "--consumer"),
        Setting(SettingKey.spokeBatch, .int(500), flag: "--batch-size"),
        Setting(SettingKey.spokeBlockMs, .int(1000), flag: "--block-ms"),
        Setting(SettingKey.spokeLatencyLog, .none("no latency log"), flag: "--latency-log"),
        Setting(SettingKey.spokeMaxDeliveries, .int(5), flag: "--max-deliveries"),
        Setting(SettingKey.spokeClaimIdleMs, .int(30_000), flag: "--claim-idle-ms"),
        Setting(SettingKey.spokeConsumerIdleMs, .int(3_600_000), flag: "--consumer-idle-ms"),
        Setting(SettingKey.spokeDigestIntervalMs, .int(60_000), flag: "--digest-interval-ms"),
        Setting(SettingKey.spokeGapStallMs, .int(2000), flag: "--gap-stall-ms"),
        Setting(SettingKey.spokeResyncTimeoutMs, .int(60_000), flag: "--resync-timeout-ms"),
        Setting(SettingKey.spokeMaxLagMs, .int(30_000), flag: "--max-lag-ms"),
        Setting(SettingKey.spokeMaxWaitMs, .int(60_000), flag: "--max-wait-ms"),
        Setting(SettingKey.spokeMaxWatchers, .int(10_000), flag: "--max-watchers"),
        Setting(SettingKey.spokeWatchProgressMs, .int(5_000)),
        Setting(SettingKey.spokeWatchWriteTimeoutMs, .int(10_000)),
        Setting(SettingKey.spokeHubURL, .none("no hub reads: consistency=hub and fallback=hub answer 501"), flag: "--hub-url"),
        Setting(SettingKey.spokeHubTokenFile, .none("no token for the hub"), flag: "--hub-token-file"),
        Setting(SettingKey.dlqMaxLength, .int(100_000)),
        Setting(SettingKey.dlqMaxBytes, .int(256 << 20)),
        Setting(SettingKey.dlqMaxAgeSeconds, .int(604_800)),
        Setting(SettingKey.bodyMaxBytes, .int(1_048_576), flag: "--max-body-bytes"),
        Setting(SettingKey.httpBatchMaxBytes, .int(4 << 20)),
        Setting(SettingKey.httpIdleTimeoutMs, .int(30_000), flag: "--http-idle-timeout-ms"),
        Setting(SettingKey.httpRequestReadTimeoutMs, .int(10_000), flag: "--http-request-read-timeout-ms"),
        Setting(SettingKey.httpMaxConnections, .int(16_384), flag: "--http-max-connections"),
        Setting(SettingKey.logLevel, .string("info"), flag: "--log-level"),
    ]

    /// The setting of `key`, if it is listed.
    public static func setting(_ key: String) -> Setting? { all.first { $0.key == key } }

    /// Whether `key` is a key: listed, or `redis.region.<name>`.
    public static func isKnown(_ key: String) -> Bool {
        setting(key) != nil || (key.hasPrefix(regionRedisPrefix) && key.count > regionRedisPrefix.count)
    }

    /// How swift-configuration's environment provider spells `key` after the `PANE` prefix:
    /// camelCase split by `_`, every other character that is not a letter or digit turned into
    /// `_`, upper-cased. `hub.batchSize` is `PANE_HUB_BATCH_SIZE`.
    public static func environmentName(_ key: String) -> String {
        let components = key.split(separator: ".", omittingEmptySubsequences: false).map { component -> String in
            var out = ""
            var previous: Character?
            for char in component {
                if let previous, previous.isLowercase, char.isUppercase { out += "_" }
                out.append(char)
                previous = char
            }
            return out.uppercased().map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
        }
        return "PANE_" + components.joined(separator: "_")
    }

    /// A config file with every key and its default (`null` where there is none), in the
    /// order of ``all``: what `pane config sample` prints and `ops/pane.sample.json` holds.
    public static func sampleJSON() -> String {
        var sections: [(name: String, lines: [String])] = []
        func add(_ section: String, _ line: String) {
            if let index = sections.firstIndex(where: { $0.name == section }) {
                sections[index].lines.append(line)
            } else {
                sections.append((section, [line]))
            }
        }
        for setting in all {
            let parts = setting.key.split(separator: ".", maxSplits: 1).map(String.init)
            let value: String
            switch setting.defaultValue {
            case .int(let number): value = String(number)
            case .string(let text): value = JSONText.quote(text)
            case .bool(let flag): value = flag ? "true" : "false"
            case .none: value = "null"
            }
            add(parts[0], "    \(JSONText.quote(parts[1])): \(value)")
            if setting.key == SettingKey.redisURL { add(parts[0], "    \"region\": {}") }
        }
        let body = sections.map { section in
            "  \(JSONText.quote(section.name)): {\n" + section.lines.joined(separator: ",\n") + "\n  }"
        }
        return "{\n" + body.joined(separator: ",\n") + "\n}\n"
    }
}
