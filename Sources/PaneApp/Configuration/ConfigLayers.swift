import Foundation
import PaneCore

/// The three layers of settings as given (flags, `PANE_…` variables, a config file), kept so
/// `pane config check` can say where each effective value came from.
public struct ConfigLayers: Sendable {
    public let flags: [String: String]
    /// The `PANE_…` variables only.
    public let environment: [String: String]
    /// The file's values by dotted key.
    public let file: [String: String]
    public let filePath: String?

    /// One effective setting: its value as text (masked when it is a URL with a password) and
    /// where it came from.
    public struct Effective: Sendable, Equatable {
        public let key: String
        public let value: String
        public let origin: String
    }

    /// Every listed key, and every `redis.region.<name>` any layer sets, with the value that
    /// wins (flag, then environment, then file, then default).
    public func effective() -> [Effective] {
        var rows: [Effective] = []
        for setting in SettingCatalog.all {
            rows.append(resolve(setting.key, isURL: setting.isURL, defaultValue: setting.defaultValue))
            if setting.key == SettingKey.redisURL {
                for key in regionRedisKeys() {
                    rows.append(resolve(key, isURL: true, defaultValue: .none("redis.url")))
                }
            }
        }
        return rows
    }

    /// `redis.region.<name>` keys set by a flag or the file, and by `PANE_REDIS_REGION_<NAME>`
    /// (its name lower-cased, `_` read as `-`).
    private func regionRedisKeys() -> [String] {
        let prefix = SettingCatalog.regionRedisPrefix
        var keys = Set(flags.keys.filter { $0.hasPrefix(prefix) }).union(file.keys.filter { $0.hasPrefix(prefix) })
        for name in environment.keys where name.hasPrefix(StrictSettings.regionRedisVariablePrefix) {
            let region = name.dropFirst(StrictSettings.regionRedisVariablePrefix.count).lowercased().replacingOccurrences(of: "_", with: "-")
            if !keys.contains(where: { SettingCatalog.environmentName($0) == name }) { keys.insert(prefix + region) }
        }
        return keys.sorted()
    }

    private func resolve(_ key: String, isURL: Bool, defaultValue: Setting.Default) -> Effective {
        let variable = SettingCatalog.environmentName(key)
        let found: (String, String)
        if let value = flags[key] {
            found = (value, "flag")
        } else if let value = environment[variable] {
            found = (value, "environment \(variable)")
        } else if let value = file[key], let path = filePath {
            found = (value, "file \(path)")
        } else {
            switch defaultValue {
            case .int(let number): found = (String(number), "default")
            case .string(let text): found = (text, "default")
            case .bool(let flag): found = (flag ? "true" : "false", "default")
            case .none(let meaning): found = ("(none: \(meaning))", "default")
            }
        }
        return Effective(key: key, value: isURL ? SecretMasking.url(found.0) : found.0, origin: found.1)
    }

    /// `pane config check`'s table: one line per key, `key  value  origin`, aligned.
    public func report() -> String {
        let rows = effective()
        let keyWidth = rows.map(\.key.count).max() ?? 0
        let valueWidth = min(rows.map(\.value.count).max() ?? 0, 48)
        func pad(_ text: String, _ width: Int) -> String { text.count >= width ? text : text + String(repeating: " ", count: width - text.count) }
        return rows.map { "\(pad($0.key, keyWidth))  \(pad($0.value, valueWidth))  \($0.origin)" }.joined(separator: "\n") + "\n"
    }
}
