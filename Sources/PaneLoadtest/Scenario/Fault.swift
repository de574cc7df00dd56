/// One scheduled fault of a scenario.
public struct Fault: Sendable, Equatable, Codable {
    /// What to do.
    public var kind: FaultKind
    /// When, in seconds after the first write.
    public var at: Double
    /// How long the fault lasts: the hub's outage, or the pause before a killed worker restarts.
    public var seconds: Double
    /// How many poison entries to inject.
    public var count: Int

    /// A fault of `kind` at `at` seconds; `seconds` and `count` default per kind.
    public init(kind: FaultKind, at: Double, seconds: Double? = nil, count: Int = 1) {
        self.kind = kind
        self.at = at
        self.seconds = seconds ?? Self.defaultSeconds(kind)
        self.count = count
    }

    /// A stopped hub stays down 10 s; a killed master's recovery is awaited up to 60 s; others pause 1 s.
    static func defaultSeconds(_ kind: FaultKind) -> Double {
        switch kind {
        case .stopHub: 10
        case .killMaster: 60
        default: 1
        }
    }
}
