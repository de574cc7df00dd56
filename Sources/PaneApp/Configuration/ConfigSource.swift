import Configuration
import Foundation
import PaneCore
import PaneRedis
import SystemPackage

/// Where settings come from, highest precedence first: command-line flags, `PANE_…`
/// environment variables, then a JSON config file (`--config` or `PANE_CONFIG`).
///
/// Keys are dotted (`redis.url`); the environment spells them `PANE_REDIS_URL`, the file as
/// nested objects (`{"redis": {"url": …}}`). Every getter throws a ``ValidationError`` that
/// names the key and the bad value. Loading is strict (``StrictSettings``): a key or `PANE_…`
/// variable that names no setting, or a file that is not JSON, throws a ``ConfigError``. The
/// keys are listed in ``SettingCatalog`` (and the README).
public struct ConfigSource: Sendable {
    let reader: ConfigReader
    /// Where values came from, for error messages.
    let origin: String
    /// The layers as given, for `pane config check`.
    public let layers: ConfigLayers

    /// Builds the layered reader. `flags` holds only the flags given on the command line.
    public static func load(
        flags: [String: String], configFile: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> ConfigSource {
        try StrictSettings.checkEnvironment(environment)
        var providers: [any ConfigProvider] = []
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        for (key, value) in flags {
            values[AbsoluteConfigKey(stringLiteral: key)] = ConfigValue(.string(value), isSecret: false)
        }
        providers.append(InMemoryProvider(name: "flags", values: values))
        providers.append(EnvironmentVariablesProvider(environmentVariables: environment).prefixKeys(with: "pane"))
        var origin = "flags or PANE_ environment"
        var fileValues: [String: String] = [:]
        let filePath = configFile ?? environment["PANE_CONFIG"]
        if let path = filePath {
            guard FileManager.default.fileExists(atPath: path) else {
                throw ValidationError(input: "config file", value: path, reason: "no such file")
            }
            fileValues = try StrictSettings.readFile(path)
            do {
                providers.append(try await FileProvider<JSONSnapshot>(filePath: FilePath(path)))
            } catch {
                throw ValidationError(input: "config file", value: path, reason: "not a valid JSON config file: \(error)")
            }
            origin += ", or config file \(path)"
        }
        let layers = ConfigLayers(
            flags: flags, environment: environment.filter { $0.key.hasPrefix("PANE_") }, file: fileValues, filePath: filePath)
        return ConfigSource(reader: ConfigReader(providers: providers), origin: origin, layers: layers)
    }

    /// An empty source: every key takes its default.
    public static func defaults() -> ConfigSource {
        ConfigSource(
            reader: ConfigReader(provider: InMemoryProvider(values: [:])), origin: "defaults",
            layers: ConfigLayers(flags: [:], environment: [:], file: [:], filePath: nil))
    }

    private func bad(_ key: String, _ value: String, _ reason: String) -> ValidationError {
        ValidationError(input: "setting \(key)", value: value, reason: reason)
    }

    /// A string value, or `nil` when no source sets it.
    public func string(_ key: String) throws(ValidationError) -> String? {
        do {
            return try reader.requiredString(forKey: ConfigKey(key))
        } catch {
            if "\(error)".hasPrefix("Missing required") { return nil }
            throw bad(key, "?", "expected a string (\(origin))")
        }
    }

    /// An integer in `range`, or `default`. Accepts a JSON number or a decimal string.
    public func int(_ key: String, default value: Int, range: ClosedRange<Int>) throws(ValidationError) -> Int {
        let result: Int
        if let text = try? reader.requiredString(forKey: ConfigKey(key)) {
            guard let parsed = Int(text.trimmingCharacters(in: .whitespaces)) else {
                throw bad(key, text, "expected an integer from \(range.lowerBound) to \(range.upperBound)")
            }
            result = parsed
        } else {
            do {
                result = try reader.requiredInt(forKey: ConfigKey(key))
            } catch {
                if "\(error)".hasPrefix("Missing required") { return value }
                throw bad(key, "?", "expected an integer from \(range.lowerBound) to \(range.upperBound)")
            }
        }
        guard range.contains(result) else {
            throw bad(key, String(result), "expected an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return result
    }

    /// A boolean (`true`/`false`, `1`/`0`, `yes`/`no`, or a JSON boolean), or `default`.
    public func bool(_ key: String, default value: Bool) throws(ValidationError) -> Bool {
        if let text = try? reader.requiredString(forKey: ConfigKey(key)) {
            switch text.trimmingCharacters(in: .whitespaces).lowercased() {
            case "true", "1", "yes": return true
            case "false", "0", "no": return false
            default: throw bad(key, text, "expected true or false")
            }
        }
        do {
            return try reader.requiredBool(forKey: ConfigKey(key))
        } catch {
            if "\(error)".hasPrefix("Missing required") { return value }
            throw bad(key, "?", "expected true or false")
        }
    }

    /// A list of regions (`a,b` or a JSON array), or `nil`.
    public func regions(_ key: String) throws(ValidationError) -> [Region]? {
        if let list = try? reader.requiredStringArray(forKey: ConfigKey(key)) {
            guard !list.isEmpty else { throw bad(key, "[]", "name at least one region") }
            let text = list.joined(separator: ",")
            do { return try Region.list(text) } catch { throw bad(key, text, error.reason) }
        }
        guard let text = try string(key) else { return nil }
        do { return try Region.list(text) } catch { throw bad(key, text, error.reason) }
    }

    /// A `redis://` URL, or `nil`, with the password of `redis.passwordFile` when that is set.
    public func redis(_ key: String) throws(ValidationError) -> RedisEndpoint? {
        guard let text = try string(key) else { return nil }
        let endpoint: RedisEndpoint
        do { endpoint = try RedisEndpoint(url: text) } catch {
            // Never print a password, not even inside the reason.
            let masked = SecretMasking.url(text)
            throw bad(key, masked, error.message.replacingOccurrences(of: text, with: masked))
        }
        return try withPasswordFile(endpoint, key: key)
    }

    /// `redis.url`, else `redis://127.0.0.1:6379`, with the password of `redis.passwordFile`.
    public func defaultRedis() throws(ValidationError) -> RedisEndpoint {
        if let endpoint = try redis(SettingKey.redisURL) { return endpoint }
        return try withPasswordFile(RedisEndpoint(host: "127.0.0.1"), key: SettingKey.redisURL)
    }

    /// `endpoint` logging in with the password `redis.passwordFile` holds, if it is set. A URL
    /// that carries a password too is refused (which one is meant?); so is a file that cannot be
    /// read, is empty, or that every user of the machine may read.
    private func withPasswordFile(_ endpoint: RedisEndpoint, key: String) throws(ValidationError) -> RedisEndpoint {
        guard let path = try string(SettingKey.redisPasswordFile) else {
            // A user without a password would silently log in as `default` instead.
            if let user = endpoint.user, endpoint.password == nil {
                throw bad(
                    key, endpoint.description,
                    "the URL names user '\(user)' but no password: give it in the URL or in \(SettingKey.redisPasswordFile)")
            }
            return endpoint
        }
        guard endpoint.password == nil else {
            throw bad(
                key, endpoint.description,
                "the URL has a password and \(SettingKey.redisPasswordFile) gives one too: give it in one place only")
        }
        return endpoint.with(password: try RedisPasswordFile.read(path, setting: SettingKey.redisPasswordFile))
    }

    /// A Redis Cluster's seed nodes, `host:port,host:port`, or `nil` when `key` is not set.
    /// Setting it together with `redis.url` or a `redis.region.<name>` of `regions` is an error:
    /// a process talks to one cluster or to servers, not both.
    public func cluster(_ key: String, regions: [Region]) throws(ValidationError) -> ClusterMap? {
        guard let text = try string(key) else { return nil }
        var seeds: [RedisEndpoint] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let item = part.trimmingCharacters(in: .whitespaces)
            guard let node = ClusterNode(address: item), !node.host.isEmpty else {
                throw bad(key, text, "'\(item)' is not host:port (a cluster node's address, port 1-65535)")
            }
            // Every node logs in with the password of redis.passwordFile, if set.
            seeds.append(try withPasswordFile(RedisEndpoint(host: node.host, port: node.port), key: key))
        }
        let servers = [SettingKey.redisURL] + regions.map { "\(SettingKey.regionRedisPrefix).\($0.name)" }
        for server in servers where try string(server) != nil {
            throw bad(key, text, "\(server) is set too: a process uses either redis.cluster or Redis servers; remove one")
        }
        return ClusterMap(seeds: seeds)
    }

    /// A `host:port` listen address, or `nil`.
    public func address(_ key: String) throws(ValidationError) -> (host: String, port: Int)? {
        guard let text = try string(key) else { return nil }
        return try parseAddress(key, text)
    }

    /// Parses `host:port`, naming `key` when it is wrong.
    public func parseAddress(_ key: String, _ text: String) throws(ValidationError) -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port), colon != text.startIndex
        else {
            throw bad(key, text, "expected host:port, for example 127.0.0.1:7400")
        }
        return (String(text[..<colon]), port)
    }
}
