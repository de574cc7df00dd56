import Foundation
import PaneCore

/// The hub's `GET /status`: one server-rendered HTML page (no script, no external asset) that
/// refreshes itself, with every region, every replica, the dead letters, the outbox backlog and
/// retention. The figures are ``StatusReport``'s, the same as `pane admin status`'s; everything
/// that comes from Redis or a configuration is HTML-escaped (``PaneCore/HTMLText``).
public struct StatusPage: Sendable {
    /// What one Redis endpoint said, or why it could not be read.
    public struct Endpoint: Sendable {
        public let redis: String
        public let report: StatusReport?
        public let error: String?

        public init(redis: String, report: StatusReport?, error: String?) {
            self.redis = redis
            self.report = report
            self.error = error
        }
    }

    public var endpoints: [Endpoint]
    /// Seqs written at the hub and not yet confirmed in each region's stream.
    public var outboxBacklog: [String: Int]
    public var retentionMaxEntries: Int
    public var retentionMaxAgeSeconds: Int
    /// How long publishing has been failing, ms; nil when it works.
    public var publishFailingMs: Int64?
    public var generatedAtMs: Int64
    public var refreshSeconds = 5

    public init(
        endpoints: [Endpoint], outboxBacklog: [String: Int], retentionMaxEntries: Int, retentionMaxAgeSeconds: Int, publishFailingMs: Int64?,
        generatedAtMs: Int64
    ) {
        self.endpoints = endpoints
        self.outboxBacklog = outboxBacklog
        self.retentionMaxEntries = retentionMaxEntries
        self.retentionMaxAgeSeconds = retentionMaxAgeSeconds
        self.publishFailingMs = publishFailingMs
        self.generatedAtMs = generatedAtMs
    }

    private static func e(_ text: String) -> String { HTMLText.escape(text) }

    private static let style = """
        body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}
        h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.15em;margin:1.4em 0 .4em}
        table{border-collapse:collapse;margin:.3em 0 1em}th,td{padding:.25em .7em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
        th{background:#f3f3f3;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
        .ok{color:#176f2c;font-weight:600}.lagging,.stale{color:#9a6700;font-weight:600}.down{color:#b3261e;font-weight:700}
        .resyncing{color:#1f4fa3;font-weight:600}.warn{background:#fff4e5;border:1px solid #f0c36d;padding:.4em .7em}
        .bad{background:#fdecea;border:1px solid #e0a39e;padding:.4em .7em}.muted{color:#666}code{font-size:.95em}
        """

    /// The page.
    public var html: String {
        var out = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="refresh" content="\(refreshSeconds)">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Pane hub status</title>
            <style>\(Self.style)</style></head><body>
            <h1>Pane hub status</h1>
            <p class="muted">generated \(Self.e(Self.timestamp(generatedAtMs))) · refreshes every \(refreshSeconds) s</p>

            """
        if let failing = publishFailingMs {
            out += "<p class=\"bad\">Publishing has been failing for \(Self.e(HumanSize.duration(ms: failing))): "
            out += "writes wait in the outbox until Redis takes them (<code>/readyz</code> is 503 after 5 s).</p>\n"
        }
        out += "<h2>Hub</h2>\n<table><tr><th>outbox backlog</th><th>retention</th></tr><tr><td>"
        let backlog = outboxBacklog.sorted { $0.key < $1.key }.map { "\(Self.e($0.key)): \($0.value)" }
        out += backlog.isEmpty ? "-" : backlog.joined(separator: "<br>")
        let entries = retentionMaxEntries == 0 ? "no count cap" : "at most \(retentionMaxEntries) entries"
        let age = retentionMaxAgeSeconds == 0 ? "no age cap" : "at most \(HumanSize.duration(ms: Int64(retentionMaxAgeSeconds) * 1000)) old"
        out += "</td><td>each region stream trimmed behind its live replicas; \(Self.e(entries)), \(Self.e(age))</td></tr></table>\n"
        for endpoint in endpoints { out += Self.render(endpoint, backlog: outboxBacklog) }
        out += """
            <p class="muted">States: <b>ok</b>; <b>lagging</b> (the oldest unapplied entry waited over 5 s); <b>stale</b> (no heartbeat \
            for 5 s); <b>down</b> (none for 30 s); <b>resyncing</b>. What to do: docs/operations.md, &ldquo;At 3 a.m.&rdquo;.</p>
            </body></html>

            """
        return out
    }

    private static func render(_ endpoint: Endpoint, backlog: [String: Int]) -> String {
        var out = "<h2>Redis <code>\(e(endpoint.redis))</code></h2>\n"
        guard let report = endpoint.report else {
            return out + "<p class=\"bad\">Cannot read this Redis: \(e(endpoint.error ?? "unknown error"))</p>\n"
        }
        if let redis = report.redis {
            let limit = redis.maxMemoryBytes == 0 ? "no limit" : HumanSize.bytes(redis.maxMemoryBytes)
            out += "<p>maxmemory-policy <code>\(e(redis.policy))</code>, maxmemory \(e(limit)), appendonly \(redis.appendOnly ? "yes" : "no")</p>\n"
            if let problem = redis.problem { out += "<p class=\"warn\">\(e(problem))</p>\n" }
        }
        for region in report.regions {
            out += "<h2>Region <code>\(e(region.region))</code></h2>\n"
            let seqs = region.firstSeq.map { "\($0)–\(region.lastSeq ?? $0)" } ?? "-"
            out += "<table><tr><th>stream length</th><th>seqs in stream</th><th>hub seq</th><th>outbox backlog</th><th>memory</th>"
            out += "<th>dead letters</th><th>oldest dead letter</th></tr><tr>"
            out += "<td class=\"n\">\(region.length)</td><td>\(e(seqs))</td><td class=\"n\">\(region.hubSeq.map { String($0) } ?? "-")</td>"
            out += "<td class=\"n\">\(backlog[region.region].map { String($0) } ?? "-")</td>"
            out += "<td class=\"n\">\(e(region.memoryBytes.map(HumanSize.bytes) ?? "-"))</td><td class=\"n\">\(region.deadLetters)</td><td>"
            if let oldest = region.oldestDeadLetter {
                let age = oldest.ageMs.map { HumanSize.duration(ms: $0) + " ago" } ?? "?"
                out += "<code>\(e(oldest.id))</code>, \(e(age)): context <code>\(e(oldest.ctx ?? "?"))</code>, \(e(oldest.kind)): \(e(oldest.reason))"
            } else {
                out += "none"
            }
            out += "</td></tr></table>\n"
            out += "<table><tr><th>replica</th><th>state</th><th>position</th><th>lag (seqs)</th><th>lag (time)</th><th>last contact</th>"
            out += "<th>pending</th><th>resync</th><th>digest</th></tr>\n"
            if region.replicas.isEmpty { out += "<tr><td colspan=\"9\" class=\"muted\">no replica has a consumer group yet</td></tr>\n" }
            for replica in region.replicas {
                let state = replica.state.rawValue
                out += "<tr><td><code>\(e(replica.name))</code></td><td class=\"\(state)\">\(state)</td>"
                out += "<td class=\"n\">\(replica.position.map { String($0) } ?? "-")</td>"
                out += "<td class=\"n\">\(replica.lagSeqs.map { String($0) } ?? "-")</td>"
                out += "<td class=\"n\">\(e(replica.lagMs.map { HumanSize.duration(ms: $0) } ?? "-"))</td>"
                out += "<td>\(e(replica.heartbeatAgeMs.map { "heartbeat " + HumanSize.duration(ms: $0) + " ago" } ?? "never"))</td>"
                out += "<td class=\"n\">\(replica.pending)</td><td>\(e(replica.resync ?? "-"))</td><td>\(e(replica.digest ?? "-"))</td></tr>\n"
            }
            out += "</table>\n"
        }
        if report.regions.isEmpty { out += "<p class=\"muted\">No region stream on this Redis yet.</p>\n" }
        return out
    }

    private static func timestamp(_ ms: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}
