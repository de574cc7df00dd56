import Foundation
import PaneCore

extension Scenario {
    /// Every key a scenario file may hold; any other key is an error (a typo would otherwise
    /// silently fall back to a default).
    public static let knownKeys: Set<String> = [
        "name", "regions", "replicasPerRegion", "workersPerReplica", "contexts", "bodyBytes", "writeRate", "deleteShare",
        "durationSeconds", "totalWrites", "writers", "batchSize", "hubBatchSize", "spokeBatchSize", "streamMaxLength",
        "quiescenceSeconds", "seed", "faults", "expectResync", "description", "redisCluster",
    ]

    /// Parses and validates a scenario file's JSON; errors name the bad field.
    public static func parse(_ data: [UInt8], defaultName: String) throws(ScenarioError) -> Scenario {
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: Data(data))
        } catch {
            throw ScenarioError(field: "", reason: "not valid JSON: \(error)")
        }
        guard case .object(let object) = root else { throw ScenarioError(field: "", reason: "a scenario is a JSON object") }
        let fields = JSONFields(object: object, path: "")
        for key in object.keys.sorted() where !knownKeys.contains(key) {
            throw ScenarioError(field: key, reason: "unknown key; known keys: \(knownKeys.sorted().joined(separator: ", "))")
        }
        let name = try fields.string("name") ?? defaultName
        let regions = try parseRegions(object["regions"])
        var scenario = Scenario(name: name, regions: regions)
        scenario.replicasPerRegion = try fields.int("replicasPerRegion", in: 1...26) ?? scenario.replicasPerRegion
        scenario.workersPerReplica = try fields.int("workersPerReplica", in: 1...16) ?? scenario.workersPerReplica
        scenario.contexts = try fields.int("contexts", in: 1...10_000_000) ?? scenario.contexts
        scenario.bodyBytes = try fields.int("bodyBytes", in: 16...1_048_576) ?? scenario.bodyBytes
        scenario.writeRate = try parseRate(object["writeRate"]) ?? scenario.writeRate
        scenario.deleteShare = try fields.double("deleteShare", in: 0...0.9) ?? scenario.deleteShare
        scenario.durationSeconds = try fields.double("durationSeconds", in: 0.1...86_400)
        scenario.totalWrites = try fields.int("totalWrites", in: 1...100_000_000)
        scenario.writers = try fields.int("writers", in: 1...64) ?? scenario.writers
        scenario.batchSize = try fields.int("batchSize", in: 1...BatchRequest.maxOperations) ?? scenario.batchSize
        if scenario.batchSize > scenario.contexts {
            throw ScenarioError(field: "batchSize", reason: "a batch names distinct contexts: at most contexts (\(scenario.contexts))")
        }
        scenario.hubBatchSize = try fields.int("hubBatchSize", in: 1...100_000) ?? scenario.hubBatchSize
        scenario.spokeBatchSize = try fields.int("spokeBatchSize", in: 1...100_000) ?? scenario.spokeBatchSize
        scenario.streamMaxLength = try fields.int("streamMaxLength", in: 0...1_000_000_000) ?? scenario.streamMaxLength
        scenario.quiescenceSeconds = try fields.double("quiescenceSeconds", in: 1...3_600) ?? scenario.quiescenceSeconds
        scenario.seed = UInt64(try fields.int("seed", in: 0...Int.max) ?? 1)
        scenario.expectResync = try fields.bool("expectResync") ?? false
        _ = try fields.string("description")
        switch (scenario.durationSeconds, scenario.totalWrites) {
        case (nil, nil):
            throw ScenarioError(field: "durationSeconds", reason: "give durationSeconds or totalWrites")
        case (.some, .some):
            throw ScenarioError(field: "totalWrites", reason: "give durationSeconds or totalWrites, not both")
        default: break
        }
        if scenario.writeRate == .max, scenario.durationSeconds == nil, scenario.totalWrites == nil {
            throw ScenarioError(field: "writeRate", reason: "\"max\" needs durationSeconds or totalWrites")
        }
        scenario.redisCluster = try parseRedisCluster(object["redisCluster"])
        scenario.faults = try parseFaults(object["faults"], scenario: scenario)
        for (i, fault) in scenario.faults.enumerated() {
            if fault.kind.needsCluster && scenario.redisCluster == nil {
                throw ScenarioError(field: "faults[\(i)].kind", reason: "'\(fault.kind.rawValue)' needs a Redis Cluster: add \"redisCluster\": {}")
            }
            if fault.kind == .killMaster && scenario.redisCluster?.replicasPerMaster == 0 {
                throw ScenarioError(field: "faults[\(i)].kind", reason: "'killMaster' needs a replica to promote: redisCluster.replicasPerMaster >= 1")
            }
            if fault.kind == .restartRedis && scenario.redisCluster != nil {
                throw ScenarioError(field: "faults[\(i)].kind", reason: "'restartRedis' restarts the one redis-server; on a cluster use 'killMaster'")
            }
        }
        return scenario
    }

    /// `redisCluster`: an object with `masters` (3-16), `replicasPerMaster` (0-2) and
    /// `nodeTimeoutMs` (100-60000), each optional.
    private static func parseRedisCluster(_ value: JSONValue?) throws(ScenarioError) -> RedisClusterPlan? {
        guard let value else { return nil }
        guard case .object(let object) = value else {
            throw ScenarioError(field: "redisCluster", reason: "an object such as {\"masters\": 3, \"replicasPerMaster\": 1}, got \(value.summary)")
        }
        let known = ["masters", "replicasPerMaster", "nodeTimeoutMs"]
        for key in object.keys.sorted() where !known.contains(key) {
            throw ScenarioError(field: "redisCluster.\(key)", reason: "unknown key; redisCluster has \(known.joined(separator: ", "))")
        }
        let fields = JSONFields(object: object, path: "redisCluster.")
        var plan = RedisClusterPlan()
        plan.masters = try fields.int("masters", in: 3...16) ?? plan.masters
        plan.replicasPerMaster = try fields.int("replicasPerMaster", in: 0...2) ?? plan.replicasPerMaster
        plan.nodeTimeoutMs = try fields.int("nodeTimeoutMs", in: 100...60_000) ?? plan.nodeTimeoutMs
        return plan
    }

    private static func parseRegions(_ value: JSONValue?) throws(ScenarioError) -> [Region] {
        switch value {
        case nil:
            throw ScenarioError(field: "regions", reason: "missing: a count (1-64) or a list of region names")
        case .number(let number)?:
            guard number == number.rounded(), (1...64).contains(number) else {
                throw ScenarioError(field: "regions", reason: "a count is a whole number 1-64, got \(value?.summary ?? "")")
            }
            var regions: [Region] = []
            for i in 1...Int(number) {
                do { regions.append(try Region(String(format: "r%02d", i))) } catch {
                    throw ScenarioError(field: "regions", reason: error.description)
                }
            }
            return regions
        case .array(let names)?:
            guard !names.isEmpty, names.count <= 64 else {
                throw ScenarioError(field: "regions", reason: "a list of 1-64 region names, got \(names.count)")
            }
            var regions: [Region] = []
            for (i, name) in names.enumerated() {
                guard case .string(let text) = name else { throw ScenarioError(field: "regions[\(i)]", reason: "a region name is a string") }
                do { regions.append(try Region(text)) } catch { throw ScenarioError(field: "regions[\(i)]", reason: error.description) }
            }
            guard Set(regions).count == regions.count else { throw ScenarioError(field: "regions", reason: "region names repeat") }
            return regions
        default:
            throw ScenarioError(field: "regions", reason: "a count (1-64) or a list of region names, got \(value?.summary ?? "")")
        }
    }

    private static func parseRate(_ value: JSONValue?) throws(ScenarioError) -> WriteRate? {
        switch value {
        case nil: return nil
        case .string("max")?: return .max
        case .number(let rate)?:
            guard rate > 0, rate <= 10_000_000 else {
                throw ScenarioError(field: "writeRate", reason: "writes per second above 0 and at most 10000000, got \(rate)")
            }
            return .perSecond(rate)
        default:
            throw ScenarioError(field: "writeRate", reason: "writes per second (a number) or \"max\", got \(value?.summary ?? "")")
        }
    }

    private static func parseFaults(_ value: JSONValue?, scenario: Scenario) throws(ScenarioError) -> [Fault] {
        guard let value else { return [] }
        guard case .array(let list) = value else { throw ScenarioError(field: "faults", reason: "a list of fault objects") }
        var faults: [Fault] = []
        for (i, item) in list.enumerated() {
            let path = "faults[\(i)]"
            guard case .object(let object) = item else { throw ScenarioError(field: path, reason: "a fault is an object") }
            for key in object.keys.sorted() where !["kind", "at", "seconds", "count"].contains(key) {
                throw ScenarioError(field: "\(path).\(key)", reason: "unknown key; a fault has kind, at, seconds, count")
            }
            let fields = JSONFields(object: object, path: path + ".")
            guard let kindText = try fields.string("kind") else { throw ScenarioError(field: "\(path).kind", reason: "missing") }
            guard let kind = FaultKind(rawValue: kindText) else {
                throw ScenarioError(
                    field: "\(path).kind",
                    reason: "'\(kindText)' is not one of \(FaultKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard let at = try fields.double("at", in: 0...86_400) else { throw ScenarioError(field: "\(path).at", reason: "missing: seconds after the first write") }
            let seconds = try fields.double("seconds", in: 0...3_600)
            let count = try fields.int("count", in: 1...10_000) ?? 1
            faults.append(Fault(kind: kind, at: at, seconds: seconds, count: count))
        }
        return faults.sorted { $0.at < $1.at }
    }
}
