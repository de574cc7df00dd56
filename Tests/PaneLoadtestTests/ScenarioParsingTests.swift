import Foundation
import PaneCore
import PaneTestKit
import Testing

@testable import PaneLoadtest

@Suite struct ScenarioParsingTests {
    func parse(_ json: String) throws(ScenarioError) -> Scenario {
        try Scenario.parse(Array(json.utf8), defaultName: "t")
    }

    func field(_ json: String) -> String? {
        do {
            _ = try parse(json)
            return nil
        } catch {
            return error.field
        }
    }

    @Test func minimalScenarioGetsDefaults() throws {
        let scenario = try parse(#"{"regions": 2, "totalWrites": 10}"#)
        #expect(scenario.name == "t")
        #expect(scenario.regions.map(\.name) == ["r01", "r02"])
        #expect(scenario.replicasPerRegion == 1)
        #expect(scenario.writeRate == .perSecond(1_000))
        #expect(scenario.totalWrites == 10)
        #expect(scenario.faults.isEmpty)
        #expect(scenario.replicaNames == ["a"])
    }

    @Test func fullScenario() throws {
        let scenario = try parse(
            #"""
            {"name": "x", "regions": ["eu", "us"], "replicasPerRegion": 3, "workersPerReplica": 2, "contexts": 50,
             "bodyBytes": 100, "writeRate": "max", "deleteShare": 0.1, "durationSeconds": 5, "writers": 8,
             "hubBatchSize": 100, "spokeBatchSize": 200, "streamMaxLength": 0, "quiescenceSeconds": 30, "seed": 7,
             "faults": [{"kind": "stopHub", "at": 3}, {"kind": "killWorker", "at": 1, "seconds": 0.5},
                        {"kind": "poison", "at": 2, "count": 5}]}
            """#)
        #expect(scenario.name == "x")
        #expect(scenario.regions.map(\.name) == ["eu", "us"])
        #expect(scenario.replicaNames == ["a", "b", "c"])
        #expect(scenario.writeRate == .max)
        #expect(scenario.durationSeconds == 5)
        #expect(scenario.seed == 7)
        #expect(scenario.faults.map(\.kind) == [.killWorker, .poison, .stopHub])
        #expect(scenario.faults[2].seconds == 10)
        #expect(scenario.faults[0].seconds == 0.5)
        #expect(scenario.faults[1].count == 5)
    }

    @Test func badFieldsAreNamed() {
        #expect(field("[1]") == "")
        #expect(field("{not json") == "")
        #expect(field(#"{"totalWrites": 10}"#) == "regions")
        #expect(field(#"{"regions": 0, "totalWrites": 10}"#) == "regions")
        #expect(field(#"{"regions": ["ok", "bad name"], "totalWrites": 10}"#) == "regions[1]")
        #expect(field(#"{"regions": 1}"#) == "durationSeconds")
        #expect(field(#"{"regions": 1, "totalWrites": 1, "durationSeconds": 1}"#) == "totalWrites")
        #expect(field(#"{"regions": 1, "totalWrites": 10, "writeRate": "fast"}"#) == "writeRate")
        #expect(field(#"{"regions": 1, "totalWrites": 10, "writeRate": -1}"#) == "writeRate")
        #expect(field(#"{"regions": 1, "totalWrites": 10.5}"#) == "totalWrites")
        #expect(field(#"{"regions": 1, "totalWrites": 10, "deleteShare": 2}"#) == "deleteShare")
        #expect(field(#"{"regions": 1, "totalWrites": 10, "bodyBytes": "big"}"#) == "bodyBytes")
        #expect(field(#"{"regions": 1, "totalWrites": 10, "expectResync": 1}"#) == "expectResync")
        #expect(field(#"{"regions": 1, "totalWrites": 10, "replicas": 2}"#) == "replicas")
        #expect(field(#"{"regions": 1, "totalWrites": 10, "faults": {}}"#) == "faults")
        #expect(field(#"{"regions": 1, "totalWrites": 10, "faults": [{"kind": "meteor", "at": 1}]}"#) == "faults[0].kind")
        #expect(field(#"{"regions": 1, "totalWrites": 10, "faults": [{"kind": "poison"}]}"#) == "faults[0].at")
        #expect(field(#"{"regions": 1, "totalWrites": 10, "faults": [{"kind": "poison", "at": 1, "when": 2}]}"#) == "faults[0].when")
    }

    @Test func redisClusterAndItsFaults() throws {
        let scenario = try parse(
            #"{"regions": 2, "totalWrites": 10, "redisCluster": {"masters": 4, "nodeTimeoutMs": 500}, "faults": [{"kind": "killMaster", "at": 2}, {"kind": "reshard", "at": 1}]}"#)
        #expect(scenario.redisCluster == Scenario.RedisClusterPlan(masters: 4, replicasPerMaster: 1, nodeTimeoutMs: 500))
        #expect(scenario.faults.map(\.kind) == [.reshard, .killMaster])
        #expect(scenario.faults[1].seconds == 60)
        let defaults = try parse(#"{"regions": 1, "totalWrites": 10, "redisCluster": {}}"#)
        #expect(defaults.redisCluster == Scenario.RedisClusterPlan())
        let single = try parse(#"{"regions": 1, "totalWrites": 10}"#)
        #expect(single.redisCluster == nil)
        #expect(field(#"{"regions": 1, "totalWrites": 10, "redisCluster": true}"#) == "redisCluster")
        #expect(field(#"{"regions": 1, "totalWrites": 10, "redisCluster": {"masters": 2}}"#) == "redisCluster.masters")
        #expect(field(#"{"regions": 1, "totalWrites": 10, "redisCluster": {"shards": 2}}"#) == "redisCluster.shards")
        #expect(field(#"{"regions": 1, "totalWrites": 10, "faults": [{"kind": "killMaster", "at": 1}]}"#) == "faults[0].kind")
        #expect(field(#"{"regions": 1, "totalWrites": 10, "faults": [{"kind": "reshard", "at": 1}]}"#) == "faults[0].kind")
        #expect(
            field(#"{"regions": 1, "totalWrites": 10, "redisCluster": {"replicasPerMaster": 0}, "faults": [{"kind": "killMaster", "at": 1}]}"#)
                == "faults[0].kind")
        #expect(field(#"{"regions": 1, "totalWrites": 10, "redisCluster": {}, "faults": [{"kind": "restartRedis", "at": 1}]}"#) == "faults[0].kind")
    }

    @Test func errorMessageNamesTheField() {
        do {
            _ = try parse(#"{"regions": 1, "totalWrites": 10, "writeRate": "fast"}"#)
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("'writeRate'"))
            #expect(error.description.contains("\"fast\""))
        }
    }

    @Test func shippedScenariosParse() throws {
        let folder = TestEnv.scenarioFolder
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".json") }.sorted()
        #expect(files.contains("smoke.json"))
        for file in files {
            let scenario = try Scenario.load(path: "\(folder)/\(file)")
            #expect(scenario.name + ".json" == file)
        }
    }
}
