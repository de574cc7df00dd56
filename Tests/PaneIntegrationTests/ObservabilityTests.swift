import Foundation
import PaneApp
import PaneCore
import PaneRedis
import PaneRuntime
import PaneTestKit
import Testing

/// Issue 11, items 2 and 3: the metrics a real hub and spoke export, the alert rules checked
/// against them, and the hub's `/status` page.
@Suite struct ObservabilityTests {
    static var prometheusFolder: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../ops/prometheus").standardized.path
    }

    static let promtool = ["/usr/local/bin/promtool", "/usr/bin/promtool"].first(where: FileManager.default.isExecutableFile)

    /// Metrics that need an event this test does not cause (an anti-entropy comparison, a resync).
    static let eventual: Set<String> = ["pane_hub_digest_mismatch_buckets", "pane_spoke_resync_duration_seconds"]

    /// Runs promtool with `arguments`; its exit status and output.
    static func promtool(_ arguments: [String], dir: String) async throws -> (status: Int32, output: String) {
        let tool = try #require(Self.promtool, "promtool is not installed: ops/lib.sh unpacks it from Debian's prometheus package")
        let log = "\(dir)/promtool-\(UUID().uuidString.prefix(8)).log"
        let child = try ChildProcess(name: "promtool", executable: tool, arguments: arguments, logPath: log)
        let status = try await BlockingThread.value(name: "test-promtool") {
            child.process.waitUntilExit()
            return child.process.terminationStatus
        }
        return (status, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    /// The metric names a scrape has `# TYPE` lines for, with their type.
    static func families(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("# TYPE ") {
            let words = line.split(separator: " ")
            if words.count == 4 { out[String(words[2])] = String(words[3]) }
        }
        return out
    }

    /// A real hub and spoke: before any write every counter an alert watches is at 0; after a
    /// write and a dead letter, every metric of the catalog is in the scrape of the process that
    /// exports it, with its `# HELP` and `# TYPE`, and no metric is without help. Then the alert
    /// rules: `promtool check rules`, their unit tests, every metric a rule names is exported,
    /// and on the real scrape (a healthy system) no alert fires, while the same series with one
    /// replica's heartbeat 100 s old fire `PaneReplicaDown` with the real labels.
    @Test func everyMetricHasHelpAndTypeAndTheRulesUseOnlyExportedMetrics() async throws {
        try await TestScene.run("metrics") { scene in
            let hub = try HubProcess.start(regions: scene.regions, dir: scene.directory)
            #expect(await hub.ready())
            let spoke = try scene.spoke("a")
            let hubProbe = hub.probe()
            let spokeProbe = spoke.probe()
            let region = scene.region.name
            let spokeLabels = "region=\"\(region)\",replica=\"a\""

            // Counters at 0 from the start, before anything happened.
            #expect(await eventually(20) { (try? spokeProbe.get("/readyz").status) == 200 })
            let early = (hub: try hubProbe.get("/metrics").text, spoke: try spokeProbe.get("/metrics").text)
            for name in MetricCatalog.counters(.hub, labels: ["region"]) {
                #expect(early.hub.contains("\(name){region=\"\(region)\"} 0\n"), "\(name) at 0 before any event")
            }
            for name in MetricCatalog.counters(.spoke, labels: ["region", "replica"]) {
                #expect(early.spoke.contains("\(name){\(spokeLabels)} 0\n"), "\(name) at 0 before any event")
            }
            #expect(early.spoke.contains("pane_spoke_dead_letters_total{\(spokeLabels),kind=\"permanent\"} 0\n"))
            #expect(early.spoke.contains("pane_spoke_resync_requests_total{\(spokeLabels),reason=\"seq-gap\"} 0\n"))
            #expect(early.hub.contains("pane_hub_publish_errors_total{redis=\"\(scene.redis)\"} 0\n"))

            // A forged heartbeat under a name no replica can have never becomes a label (written
            // before the dead letter, so the round that counts the dead letter reads it too).
            let conn = try scene.connection()
            var beat: String?
            #expect(await eventually(10) {
                beat = (try? conn.hgetall(key: scene.region.keys.replicas))?["a"]?.string
                return beat != nil
            })
            _ = try conn.hset(key: scene.region.keys.replicas, field: "Forged Name!", value: try #require(beat))
            // A write, a dead letter (a foreign entry), and a bad request.
            let put = try hubProbe.request("PUT", "/v1/contexts/m%2F1", body: Array("{\"a\":1}".utf8))
            #expect(put.status == 200)
            _ = try conn.xadd(key: scene.region.keys.updates, fields: [("junk", Array("x".utf8))])
            #expect(try hubProbe.get("/v1/contexts/nope").status == 404)
            _ = try spokeProbe.get("/v1/contexts/m%2F1")
            var scrape = (hub: "", spoke: "")
            let complete = await eventually(20) {
                scrape = ((try? hubProbe.get("/metrics").text) ?? "", (try? spokeProbe.get("/metrics").text) ?? "")
                // The spoke dead-letters the foreign entry; the hub may move it aside too (a second one).
                return scrape.hub.contains("pane_hub_dead_letters{region=\"\(region)\"}")
                    && !scrape.hub.contains("pane_hub_dead_letters{region=\"\(region)\"} 0.0")
                    && scrape.hub.contains("pane_hub_replica_lag_seconds{\(spokeLabels)}")
                    && scrape.hub.contains("pane_redis_used_memory_bytes{") && scrape.spoke.contains("pane_spoke_watermark{\(spokeLabels)} 1")
                    && scrape.spoke.contains("pane_spoke_dead_letters_total{\(spokeLabels),kind=\"permanent\"} 1")
            }
            #expect(complete, "hub:\n\(scrape.hub)\nspoke:\n\(scrape.spoke)")

            let hubFamilies = Self.families(scrape.hub)
            let spokeFamilies = Self.families(scrape.spoke)
            for metric in MetricCatalog.all where !Self.eventual.contains(metric.name) {
                let places: [(String, String, [String: String])] =
                    switch metric.source {
                    case .hub: [("hub", scrape.hub, hubFamilies)]
                    case .spoke: [("spoke", scrape.spoke, spokeFamilies)]
                    case .both: [("hub", scrape.hub, hubFamilies), ("spoke", scrape.spoke, spokeFamilies)]
                    }
                for (name, text, families) in places {
                    #expect(families[metric.name] == metric.kind.rawValue, "\(name) exports \(metric.name) as \(metric.kind.rawValue)")
                    #expect(text.contains("# HELP \(metric.name) \(metric.help)\n"), "\(name): # HELP \(metric.name)")
                }
            }
            for (name, text) in [("hub", scrape.hub), ("spoke", scrape.spoke)] {
                for family in Self.families(text).keys {
                    #expect(text.contains("# HELP \(family) "), "\(name) exports \(family) without # HELP")
                    #expect(MetricCatalog.info(named: family) != nil, "\(name) exports \(family), which the catalog does not list")
                }
            }
            #expect(!scrape.hub.contains("Forged Name!"), "a forged heartbeat field is no label")
            #expect(scrape.hub.contains("pane_http_requests_total{route=\"/v1/contexts/{id}\",method=\"PUT\",status=\"200\"} 1"))
            #expect(scrape.hub.contains("pane_http_request_duration_seconds_bucket{route=\"/v1/contexts/{id}\",method=\"PUT\",status=\"200\",le="))
            #expect(scrape.spoke.contains("pane_spoke_apply_duration_seconds_count{\(spokeLabels)}"))
            #expect(scrape.spoke.contains("pane_spoke_replication_lag_seconds_count{\(spokeLabels)} 1"))
            let startTime = try #require(scrape.hub.firstMatch(of: /\nprocess_start_time_seconds ([0-9.e+]+)\n/).flatMap { Double($0.1) })
            #expect(abs(startTime - Date().timeIntervalSince1970) < 600, "process_start_time_seconds \(startTime)")
            let resident = scrape.hub.firstMatch(of: /\nprocess_resident_memory_bytes ([0-9.e+]+)\n/).flatMap { Double($0.1) }
            #expect(resident.map { $0 > 1_000_000 } == true)
            #expect(scrape.spoke.firstMatch(of: /\nprocess_open_fds ([0-9.e+]+)\n/).flatMap { Double($0.1) }.map { $0 >= 3 } == true)

            // The alert rules.
            let dir = Self.prometheusFolder
            let rulesFile = "\(dir)/pane.rules.yml"
            let check = try await Self.promtool(["check", "rules", rulesFile], dir: scene.directory)
            #expect(check.status == 0 && check.output.contains("SUCCESS"), "\(check.output)")
            let unit = try await Self.promtool(["test", "rules", "\(dir)/pane.rules.test.yml"], dir: scene.directory)
            #expect(unit.status == 0 && unit.output.contains("SUCCESS"), "\(unit.output)")
            let rules = try String(contentsOfFile: rulesFile, encoding: .utf8)
            let exported = Set(hubFamilies.keys).union(spokeFamilies.keys)
            var named: Set<String> = []
            for line in rules.split(separator: "\n") where !line.trimmingCharacters(in: .whitespaces).hasPrefix("#") {
                for match in line.matches(of: /\b((?:pane|process)_[a-z0-9_]+)/) { named.insert(String(match.1)) }
            }
            #expect(named.count >= 10, "\(named)")
            for name in named {
                let family = name.replacing(/_(bucket|sum|count)$/, with: "")
                #expect(exported.contains(name) || exported.contains(family), "a rule names \(name), which no real scrape has")
            }

            // The real series, constant for 30 minutes: nothing fires. The same with replica a's
            // heartbeat 100 s old: PaneReplicaDown, with the labels a real scrape has.
            func series(_ text: String, job: String, heartbeat: Double? = nil) -> [String] {
                text.split(separator: "\n").compactMap { line -> String? in
                    guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                        return nil
                    }
                    var name = String(line[..<space])
                    if let brace = name.firstIndex(of: "{") {
                        name.replaceSubrange(brace...brace, with: "{job=\"\(job)\",")
                    } else {
                        name += "{job=\"\(job)\"}"
                    }
                    let figure = heartbeat != nil && name.hasPrefix("pane_hub_replica_heartbeat_age_seconds{") ? heartbeat ?? value : value
                    return "      - series: '\(name)'\n        values: '\(figure)x30'"
                }
            }
            func testFile(heartbeat: Double?, expected: String) -> String {
                let lines = series(scrape.hub, job: "pane-hub", heartbeat: heartbeat) + series(scrape.spoke, job: "pane-spoke")
                let input = lines.joined(separator: "\n")
                let alerts = Set(rules.matches(of: /- alert: (\w+)/).map { String($0.1) }).sorted()
                let checks = alerts.map { alert in
                    let exp = alert == "PaneReplicaDown" ? expected : "[]"
                    return "      - eval_time: 20m\n        alertname: \(alert)\n        exp_alerts: \(exp)"
                }
                return "rule_files: ['\(rulesFile)']\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n\(input)\n"
                    + "    alert_rule_test:\n" + checks.joined(separator: "\n") + "\n"
            }
            let quiet = "\(scene.directory)/quiet.test.yml"
            try testFile(heartbeat: nil, expected: "[]").write(toFile: quiet, atomically: true, encoding: .utf8)
            let quietRun = try await Self.promtool(["test", "rules", quiet], dir: scene.directory)
            #expect(quietRun.status == 0 && quietRun.output.contains("SUCCESS"), "a healthy system fires alerts: \(quietRun.output)")
            let down = "\(scene.directory)/down.test.yml"
            let expected = """

                          - exp_labels: {severity: page, region: \(region), replica: a}
                            exp_annotations:
                              summary: "Replica \(region)/a is down: no heartbeat for 1m 40s"
                              runbook_url: "docs/operations.md#panereplicadown"
                """
            try testFile(heartbeat: 100, expected: expected).write(toFile: down, atomically: true, encoding: .utf8)
            let downRun = try await Self.promtool(["test", "rules", down], dir: scene.directory)
            #expect(downRun.status == 0 && downRun.output.contains("SUCCESS"), "\(downRun.output)")

            #expect(spoke.child.stop() == 0)
            #expect(hub.child.stop() == 0)
        }
    }

    /// docs/operations.md names every metric of the catalog, and every rule's `runbook_url` points
    /// at a heading of it that exists.
    @Test func theDocsDescribeEveryMetricAndEveryRunbook() throws {
        let docs = try String(contentsOfFile: "\(Self.prometheusFolder)/../../docs/operations.md", encoding: .utf8)
        for metric in MetricCatalog.all { #expect(docs.contains("`\(metric.name)`"), "docs/operations.md does not list \(metric.name)") }
        let anchors = Set(
            docs.split(separator: "\n").filter { $0.hasPrefix("#") }.map { heading in
                String(heading.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces).lowercased()
                    .filter { $0.isLetter || $0.isNumber || $0 == " " || $0 == "-" || $0 == "_" }
                    .replacingOccurrences(of: " ", with: "-"))
            })
        let rules = try String(contentsOfFile: "\(Self.prometheusFolder)/pane.rules.yml", encoding: .utf8)
        let links = rules.matches(of: /runbook_url: "docs\/operations\.md#([a-z0-9-]+)"/).map { String($0.1) }
        #expect(links.count == rules.matches(of: /- alert: \w+/).count, "every rule has a runbook_url")
        for link in links { #expect(anchors.contains(link), "runbook_url #\(link) names no heading of docs/operations.md") }
    }

    /// `GET /status` against a running hub (two regions), a spoke and a dead letter whose
    /// context id is markup: every region and replica with its state, the dead letter with its
    /// reason, escaped; no script, no external asset; a refresh; a `read` token when the hub has
    /// a tokens file.
    @Test func theStatusPageShowsRegionsReplicasAndDeadLetters() async throws {
        try await TestScene.run("status-page", regions: ["status-page", "status-other"]) { scene in
            let read = "read-status-page-token-0123456789"
            let metrics = "metrics-status-page-token-0123456789"
            let tokens = scene.path("tokens")
            try "read \(read)\nmetrics \(metrics)\n".write(toFile: tokens, atomically: true, encoding: .utf8)
            _ = chmod(tokens, 0o600)
            let hub = try HubProcess.start(regions: scene.regions, dir: scene.directory, extra: ["--tokens-file", tokens])
            #expect(await hub.ready())
            let spoke = try scene.spoke("a", extra: ["--tokens-file", tokens])
            #expect(await eventually(20) { (try? spoke.probe().get("/readyz").status) == 200 })
            let evil = "<img src=x onerror=alert(1)>"
            _ = try scene.connection().xadd(
                key: scene.region.keys.updates, fields: [("ctx", Array(evil.utf8)), ("junk", Array("<script>".utf8))])
            // The spoke dead-letters it; the hub may move it aside too, so one or two.
            let conn = try scene.connection()
            #expect(await eventually(15) { ((try? conn.xlen(key: scene.region.keys.deadLetters)) ?? 0) >= 1 })

            #expect(try HTTPProbe(port: hub.port).get("/status").status == 401)
            #expect(try HTTPProbe(port: hub.port, token: metrics).get("/status").status == 403)
            let probe = HTTPProbe(port: hub.port, token: read)
            var page = try probe.get("/status")
            #expect(await eventually(15) {
                page = (try? probe.get("/status")) ?? page
                return page.text.contains("class=\"ok\">ok<")
            }, "\(page.text)")
            #expect(page.status == 200)
            #expect(page.header("content-type") == "text/html; charset=utf-8")
            let html = page.text
            #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("<meta http-equiv=\"refresh\" content=\"5\">"))
            for region in scene.regions { #expect(html.contains("Region <code>\(region.name)</code>"), "\(region.name)") }
            #expect(html.contains("<td><code>a</code></td><td class=\"ok\">ok</td>"), "\(html)")
            #expect(html.contains("no replica has a consumer group yet"), "the second region has no replica")
            #expect(html.contains("&lt;img src=x onerror=alert(1)&gt;") && !html.contains(evil), "the context id is escaped")
            #expect(html.contains("permanent: badContextID: invalid context id &#39;&lt;img"), "the oldest dead letter's kind and reason")
            let oldest = try #require(try scene.connection().xrange(key: scene.region.keys.deadLetters, count: 1).first)
            #expect(html.contains("<th>dead letters</th>") && html.contains("<code>\(oldest.id)</code>"), "the oldest dead letter's id")
            #expect(html.contains("outbox backlog") && html.contains("at most 1000000 entries"))
            #expect(html.contains("maxmemory-policy <code>noeviction</code>"))
            #expect(!html.contains("<script") && !html.contains("src=\"http") && !html.contains("href=\"http"), "no script, no external asset")

            // Redis away: the page still answers, naming the Redis it cannot read.
            let away = try HubProcess.start(
                regions: scene.regions, dir: scene.directory, db: scene.path("away.sqlite"),
                redis: RedisEndpoint(host: "127.0.0.1", port: LocalPorts.free()), logName: "away.log")
            #expect(await away.ready())
            let awayPage = try away.probe().get("/status")
            #expect(awayPage.status == 200 && awayPage.text.contains("Cannot read this Redis"), "\(awayPage.text)")
            #expect(away.child.stop() == 0)
            #expect(spoke.child.stop() == 0)
            #expect(hub.child.stop() == 0)
        }
    }
}
