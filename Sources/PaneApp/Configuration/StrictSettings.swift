import Foundation
import PaneCore

/// Strict configuration: a key Pane does not know, in a config file or as a `PANE_…`
/// environment variable, is an error naming the nearest key Pane knows, never silently ignored.
public enum StrictSettings {
    /// `PANE_…` variables that are not settings and are still legitimate: the one allow-list.
    /// `PANE_CONFIG` (the config file), `PANE_TOKEN_FILE` (the admin token of `pane admin dlq
    /// replay`), `PANE_BIN` (the binary the tests and the load-test runner start).
    public static let otherVariables: Set<String> = ["PANE_CONFIG", "PANE_TOKEN_FILE", "PANE_BIN"]
    /// Families of such variables: `PANE_TEST_…` (the test suite, `PANE_TEST_REDIS_URL`) and
    /// `PANE_FAULT_…` (the fault points of `PaneRuntime.FaultPoints`).
    public static let otherPrefixes = ["PANE_TEST_", "PANE_FAULT_"]
    /// `PANE_REDIS_REGION_<NAME>`: `redis.region.<name>`.
    static let regionRedisVariablePrefix = SettingCatalog.environmentName(SettingKey.regionRedisPrefix) + "_"

    /// Whether `name` (a `PANE_…` variable) is a setting's or on the allow-list.
    public static func isKnownVariable(_ name: String) -> Bool {
        otherVariables.contains(name) || otherPrefixes.contains(where: name.hasPrefix)
            || SettingCatalog.all.contains { $0.environmentVariable == name }
            || (name.hasPrefix(regionRedisVariablePrefix) && name.count > regionRedisVariablePrefix.count)
    }

    /// Throws for the first `PANE_…` variable (in name order) that is neither a setting's nor allowed.
    public static func checkEnvironment(_ environment: [String: String]) throws(ConfigError) {
        for name in environment.keys.sorted() where name.hasPrefix("PANE_") && !isKnownVariable(name) {
            let candidates = SettingCatalog.all.map(\.environmentVariable) + otherVariables.sorted()
            var hint = ""
            if let nearest = EditDistance.nearest(to: name, among: candidates) {
                let key = SettingCatalog.all.first { $0.environmentVariable == nearest }.map { " (\($0.key))" } ?? ""
                hint = "; did you mean \(nearest)\(key)?"
            }
            throw ConfigError("unknown environment variable \(name)\(hint)")
        }
    }

    /// Reads a JSON config file: its syntax (an error names the line and column), then every
    /// key (an unknown one names the nearest known key). Returns the values by dotted key, as
    /// text (a list joined by commas); `null` values are left out, as the file provider does.
    public static func readFile(_ path: String) throws(ConfigError) -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError("cannot read the config file \(path)")
        }
        if let error = JSONSyntax.firstError(in: Array(data)) {
            throw ConfigError("config file \(path) is not valid JSON: \(error)")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ConfigError("config file \(path) must hold one JSON object, such as {\"hub\": {\"regions\": \"us-east-1\"}}")
        }
        var values: [String: String] = [:]
        try flatten(object, prefix: "", into: &values, path: path)
        return values
    }

    private static func flatten(_ object: [String: Any], prefix: String, into values: inout [String: String], path: String) throws(ConfigError) {
        for name in object.keys.sorted() {
            let key = prefix + name
            let value = object[name]
            if let nested = value as? [String: Any] {
                // `redis.region` is an object of region names; every other object is a section.
                if nested.isEmpty, SettingCatalog.isKnown(key + ".x") { continue }
                try flatten(nested, prefix: key + ".", into: &values, path: path)
                continue
            }
            guard SettingCatalog.isKnown(key) else {
                let hint = EditDistance.nearest(to: key, among: SettingCatalog.all.map(\.key)).map { "; did you mean \($0)?" } ?? ""
                throw ConfigError("unknown key \(key) in \(path)\(hint)")
            }
            if let text = text(of: value, key: key) { values[key] = text }
        }
    }

    private static func text(of value: Any?, key: String) -> String? {
        switch value {
        case let string as String: return string
        case let list as [Any]: return list.compactMap { text(of: $0, key: key) }.joined(separator: ",")
        case let number as NSNumber:
            if case .bool = SettingCatalog.setting(key)?.defaultValue { return number.boolValue ? "true" : "false" }
            return number.stringValue
        default: return nil
        }
    }
}
