import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore

/// One HTTP server's count of open connections, its limit, and what it reports when it refuses
/// a connection or cuts a request that was not read in time (issue 10, item 4). Shared by the
/// ``ConnectionGuardHandler`` of every connection of that server.
///
/// Metrics (label `server`: `pane-hub` or `pane-spoke`): `pane_http_connections` (open now),
/// `pane_http_connections_refused_total` and `pane_http_request_read_timeouts_total`. A refusal
/// or a cut is logged at warning level, at most once every 10 seconds per server, with how many
/// there were since the last line.
final class ConnectionGate: Sendable {
    let limit: Int
    let requestReadTimeout: TimeAmount?
    private let server: String
    private let logger: Logger
    private let open = NIOLockedValueBox(0)
    private let quiet = NIOLockedValueBox((lastLogNs: UInt64(0), refused: 0, cut: 0))
    private let openGauge: Gauge
    private let refusedCounter: Counter
    private let cutCounter: Counter

    init(server: String, limit: Int, requestReadTimeoutMs: Int?, logger: Logger) {
        self.server = server
        self.limit = limit
        self.requestReadTimeout = requestReadTimeoutMs.map { TimeAmount.milliseconds(Int64($0)) }
        self.logger = logger
        openGauge = Gauge(label: "pane_http_connections", dimensions: [("server", server)])
        refusedCounter = Counter(label: "pane_http_connections_refused_total", dimensions: [("server", server)])
        cutCounter = Counter(label: "pane_http_request_read_timeouts_total", dimensions: [("server", server)])
        openGauge.record(0)
    }

    /// Counts a new connection in; false (and nothing counted) when the server is full.
    func admit() -> Bool {
        let count = open.withLockedValue { count -> Int? in
            guard count < limit else { return nil }
            count += 1
            return count
        }
        guard let count else {
            refusedCounter.increment()
            report { $0.refused += 1 }
            return false
        }
        openGauge.record(count)
        return true
    }

    /// Counts an admitted connection out.
    func release() {
        let count = open.withLockedValue { count -> Int in
            count = max(0, count - 1)
            return count
        }
        openGauge.record(count)
    }

    /// A connection closed because its request was not read within ``requestReadTimeout``.
    func requestCut() {
        cutCounter.increment()
        report { $0.cut += 1 }
    }

    /// Open connections now.
    var openConnections: Int { open.withLockedValue { $0 } }

    private func report(_ update: (inout (lastLogNs: UInt64, refused: Int, cut: Int)) -> Void) {
        let now = NIODeadline.now().uptimeNanoseconds
        let due = quiet.withLockedValue { state -> (refused: Int, cut: Int)? in
            update(&state)
            guard state.lastLogNs == 0 || now - state.lastLogNs >= 10_000_000_000 else { return nil }
            defer { state = (now, 0, 0) }
            return (state.refused, state.cut)
        }
        guard let due else { return }
        let timeout = requestReadTimeout.map { "\($0.nanoseconds / 1_000_000)" } ?? "none"
        if due.refused > 0 {
            logger.warning(
                "http connections refused: the server is full",
                metadata: ["server": "\(server)", "refused": "\(due.refused)", "maxConnections": "\(limit)"])
        }
        if due.cut > 0 {
            logger.warning(
                "http connections closed: a request was not read in time",
                metadata: ["server": "\(server)", "closed": "\(due.cut)", "requestReadTimeoutMs": "\(timeout)"])
        }
    }
}
