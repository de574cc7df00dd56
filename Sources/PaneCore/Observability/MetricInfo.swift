/// One metric Pane exports: its Prometheus name, type, labels and `# HELP` text. The list of
/// them is ``MetricCatalog``.
public struct MetricInfo: Sendable, Equatable {
    /// The Prometheus metric type, as the `# TYPE` line spells it.
    public enum Kind: String, Sendable, Equatable {
        case counter, gauge, histogram
    }

    /// Which process exports it.
    public enum Source: String, Sendable, Equatable {
        case hub, spoke, both
    }

    public let name: String
    public let kind: Kind
    public let source: Source
    public let labels: [String]
    /// The `# HELP` text: what it counts, in one sentence.
    public let help: String
    /// A histogram's bucket bounds in seconds; nil for the factory's defaults (5 ms to 10 s).
    public let bucketsSeconds: [Double]?

    public init(_ name: String, _ kind: Kind, _ source: Source, labels: [String], help: String, bucketsSeconds: [Double]? = nil) {
        self.name = name
        self.kind = kind
        self.source = source
        self.labels = labels
        self.help = help
        self.bucketsSeconds = bucketsSeconds
    }
}
