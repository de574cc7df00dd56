import CoreMetrics
import PaneCore
import Prometheus

/// The swift-metrics backend of `pane hub` and `pane spoke`: Prometheus, with each metric's
/// `# HELP` text and histogram buckets taken from ``PaneCore/MetricCatalog`` (swift-prometheus's
/// own factory registers every metric without help text). Hummingbird's request metrics are
/// renamed to Pane's (`pane_http_requests_total`, …) on the way.
struct PaneMetricsFactory: MetricsFactory {
    let registry: PrometheusCollectorRegistry

    /// The metric's name and labels as exported, and its descriptor with the catalog's help.
    private func describe(_ label: String, _ dimensions: [(String, String)]) -> (MetricNameDescriptor, [(String, String)], MetricInfo?) {
        let name = MetricCatalog.renamed[label] ?? label
        let labels = dimensions.map { (MetricCatalog.renamedLabels[$0.0] ?? $0.0, $0.1) }
        let info = MetricCatalog.info(named: name)
        return (MetricNameDescriptor(metricName: name, unitName: "", helpText: info?.help ?? ""), labels, info)
    }

    private static let defaultBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        let (descriptor, labels, _) = describe(label, dimensions)
        return registry.makeCounter(descriptor: descriptor, labels: labels)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        let (descriptor, labels, _) = describe(label, dimensions)
        return registry.makeCounter(descriptor: descriptor, labels: labels)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        let (descriptor, labels, info) = describe(label, dimensions)
        guard aggregate else { return registry.makeGauge(descriptor: descriptor, labels: labels) }
        return registry.makeValueHistogram(descriptor: descriptor, labels: labels, buckets: info?.bucketsSeconds ?? Self.defaultBuckets)
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        let (descriptor, labels, _) = describe(label, dimensions)
        return registry.makeGauge(descriptor: descriptor, labels: labels)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let (descriptor, labels, info) = describe(label, dimensions)
        let buckets = (info?.bucketsSeconds ?? Self.defaultBuckets).map { Duration.nanoseconds(Int64(($0 * 1e9).rounded())) }
        return registry.makeDurationHistogram(descriptor: descriptor, labels: labels, buckets: buckets)
    }

    func destroyCounter(_ handler: any CounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyRecorder(_ handler: any RecorderHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
        if let histogram = handler as? ValueHistogram { registry.unregisterValueHistogram(histogram) }
    }

    func destroyMeter(_ handler: any MeterHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    func destroyTimer(_ handler: any TimerHandler) {
        if let histogram = handler as? DurationHistogram { registry.unregisterDurationHistogram(histogram) }
    }
}
