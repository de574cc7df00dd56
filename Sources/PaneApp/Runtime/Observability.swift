import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus

/// Process-wide logging and metrics backends. Only executables call this; libraries just take
/// a `Logger` and create metrics by label.
public enum Observability {
    private static let registry = PrometheusCollectorRegistry()
    private static let process = ProcessMetrics(registry: registry)

    /// Logs to stderr at `level` (`trace` … `critical`), metrics to a Prometheus registry.
    public static func bootstrap(level: String, label: String) -> Logger {
        let parsed = Logger.Level(rawValue: level) ?? .info
        LoggingSystem.bootstrap { name in LazyMetadataLogHandler(label: name, level: parsed) }
        MetricsSystem.bootstrap(PaneMetricsFactory(registry: registry))
        Gauge(label: "pane_build_info", dimensions: [("version", PaneVersion.number), ("role", label)]).record(1)
        return Logger(label: label)
    }

    /// Adds `GET /metrics` in the Prometheus text format; the `process_*` metrics are read from
    /// `/proc` at each scrape.
    @Sendable public static func addMetricsRoute(_ router: Router<BasicRequestContext>) {
        router.get("/metrics") { _, _ -> Response in
            process.update()
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: buffer)))
        }
    }
}
