/// One configuration key: its default, its flag, and how the environment spells it.
public struct Setting: Sendable {
    /// A key's default, as `pane config sample` writes it and `pane config check` shows it.
    public enum Default: Sendable, Equatable {
        case int(Int)
        case string(String)
        case bool(Bool)
        /// No value unless one is given; the text says what happens then (`null` in the sample).
        case none(String)
    }

    public let key: String
    public let defaultValue: Default
    /// The flag of `pane hub`/`pane spoke`/every command that sets it, if any.
    public let flag: String?
    /// A URL that may carry a password: shown masked.
    public let isURL: Bool

    public init(_ key: String, _ defaultValue: Default, flag: String? = nil, isURL: Bool = false) {
        self.key = key
        self.defaultValue = defaultValue
        self.flag = flag
        self.isURL = isURL
    }

    /// `PANE_HUB_BATCH_SIZE` for `hub.batchSize`.
    public var environmentVariable: String { SettingCatalog.environmentName(key) }
}
