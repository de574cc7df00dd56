import Foundation
import PaneCore
import Prometheus
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The standard `process_*` metrics, read from `/proc` at each scrape (Linux only; elsewhere
/// they are left out).
final class ProcessMetrics: Sendable {
    private let cpu: Prometheus.Counter
    private let resident: Prometheus.Gauge
    private let virtual: Prometheus.Gauge
    private let openFDs: Prometheus.Gauge
    private let maxFDs: Prometheus.Gauge
    private let start: Prometheus.Gauge
    private let lastCPU = Mutex<Double>(0)

    init(registry: PrometheusCollectorRegistry) {
        func descriptor(_ name: String) -> MetricNameDescriptor {
            MetricNameDescriptor(metricName: name, unitName: "", helpText: MetricCatalog.info(named: name)?.help ?? "")
        }
        cpu = registry.makeCounter(descriptor: descriptor("process_cpu_seconds_total"))
        resident = registry.makeGauge(descriptor: descriptor("process_resident_memory_bytes"))
        virtual = registry.makeGauge(descriptor: descriptor("process_virtual_memory_bytes"))
        openFDs = registry.makeGauge(descriptor: descriptor("process_open_fds"))
        maxFDs = registry.makeGauge(descriptor: descriptor("process_max_fds"))
        start = registry.makeGauge(descriptor: descriptor("process_start_time_seconds"))
    }

    /// Reads `/proc/self` and sets the metrics; a file that cannot be read leaves them as they were.
    func update() {
        #if os(Linux)
            let clockTicks = sysconf(Int32(_SC_CLK_TCK))
            let pageSize = sysconf(Int32(_SC_PAGESIZE))
            if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
                let boot = (try? String(contentsOfFile: "/proc/stat", encoding: .utf8)).flatMap(ProcessStats.bootTime(procStat:)),
                let stats = ProcessStats.parse(stat: stat, clockTicks: clockTicks, pageSize: pageSize, bootTimeSeconds: boot)
            {
                // A counter only goes up: add what was spent since the last scrape.
                let delta = lastCPU.withLock { last in
                    defer { last = max(last, stats.cpuSeconds) }
                    return max(0, stats.cpuSeconds - last)
                }
                cpu.increment(by: delta)
                resident.set(to: stats.residentBytes)
                virtual.set(to: stats.virtualBytes)
                start.set(to: stats.startTimeSeconds)
            }
            if let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
                // The listing itself holds one descriptor while it runs.
                openFDs.set(to: Double(max(0, fds.count - 1)))
            }
            if let limit = (try? String(contentsOfFile: "/proc/self/limits", encoding: .utf8)).flatMap(ProcessStats.maxOpenFiles(limits:)) {
                maxFDs.set(to: limit)
            }
        #endif
    }
}
