import Foundation
import PaneRedis

/// The machine's own bound for the publish path: `redis-benchmark` pipelined XADD of the same
/// entry size, against the same private redis-server.
public enum RedisBenchmarkBaseline {

    /// Runs `redis-benchmark -c clients -P pipeline -n requests XADD key * body <bytes>`; requests per second.
    public static func xaddRate(endpoint: RedisEndpoint, requests: Int, clients: Int, pipeline: Int, bodyBytes: Int) throws -> Double {
        guard let binary = ["/usr/bin/redis-benchmark", "/usr/local/bin/redis-benchmark"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw LoadtestError.toolMissing("redis-benchmark", package: "redis-tools")
        }
        let text = try ExternalTool.output(binary, [
            "-h", endpoint.host, "-p", String(endpoint.port), "-c", String(clients), "-P", String(pipeline), "-n", String(requests),
            "--csv", "XADD", key(clients: clients).rawValue, "*", "body", String(repeating: "x", count: bodyBytes),
        ])
        // CSV: "test","rps",... ; the last line holds the numbers.
        for line in text.split(separator: "\n").reversed() {
            let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
            if fields.count >= 2, let rps = Double(fields[1]) { return rps }
        }
        throw LoadtestError.unreadableOutput("redis-benchmark", text)
    }

    /// The stream the run with `clients` clients writes to (not a Pane key: delete it after).
    public static func key(clients: Int) -> StreamKey { StreamKey("pane:bench:{xadd-\(clients)}") }
}
