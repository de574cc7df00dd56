import Foundation
import PaneApp
import PaneCore
import PaneRedis
import PaneStore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a scenario's fault schedule, one fault after the other, on a thread of its own.
final class FaultInjector: @unchecked Sendable {
    let cluster: Cluster
    let scenario: Scenario
    let collector: LatencyCollector
    let hubStore: HubStore
    let log: @Sendable (String) -> Void
    private let lock = NSLock()
    private var records: [LoadReport.FaultRecord] = []
    private var rng: SplitMix64
    private(set) var poisonByRegion: [String: Int] = [:]
    private(set) var outageReads = (answered: 0, failed: 0)

    init(cluster: Cluster, scenario: Scenario, collector: LatencyCollector, hubStore: HubStore, log: @escaping @Sendable (String) -> Void) {
        self.cluster = cluster
        self.scenario = scenario
        self.collector = collector
        self.hubStore = hubStore
        self.log = log
        rng = SplitMix64(seed: scenario.seed &+ 0xFA17)
    }

    var faults: [LoadReport.FaultRecord] { lock.withLock { records } }
    var poisonInjected: Int { lock.withLock { poisonByRegion.values.reduce(0, +) } }
    var poisonCounts: [String: Int] { lock.withLock { poisonByRegion } }
    var reads: (answered: Int, failed: Int) { lock.withLock { outageReads } }

    /// Runs every fault at its time after `start`; returns when the last one is over.
    func run(start: DispatchTime, stop: StopSignal) {
        for fault in scenario.faults {
            while WriteDriver.seconds(since: start) < fault.at && !stop.isStopped { usleep(10_000) }
            if stop.isStopped { return }
            let at = WriteDriver.seconds(since: start)
            log("fault: \(fault.kind.rawValue) at \(String(format: "%.1f", at)) s")
            var detail = ""
            var ok = true
            do {
                switch fault.kind {
                case .killWorker: detail = try killWorker(pause: fault.seconds)
                case .restartRedis: detail = try restartRedis(pause: fault.seconds)
                case .poison: detail = try poison(count: fault.count)
                case .trimStream: detail = try trimStream(pause: fault.seconds)
                case .stopHub: (detail, ok) = try stopHub(seconds: fault.seconds)
                case .killMaster: (detail, ok) = try killMaster(waitSeconds: fault.seconds)
                case .reshard: detail = try reshard()
                }
            } catch {
                detail = "failed: \(error)"
                ok = false
            }
            let record = LoadReport.FaultRecord(
                kind: fault.kind.rawValue, at: at, seconds: WriteDriver.seconds(since: start) - at, detail: detail, ok: ok)
            lock.withLock { records.append(record) }
            log("fault: \(fault.kind.rawValue) done: \(detail)")
        }
    }

    private func killWorker(pause: Double) throws -> String {
        let candidates = cluster.workers.filter(\.isRunning)
        guard !candidates.isEmpty else { return "no worker running" }
        let worker = candidates[Int(rng.next() % UInt64(candidates.count))]
        worker.crash()
        usleep(useconds_t(pause * 1e6))
        try worker.start(binary: cluster.binary)
        // /healthz, not /readyz: under load a worker sharing its group rarely finds the stream empty.
        try cluster.waitReady(worker, path: "/healthz", seconds: 60)
        return "kill -9 \(worker.name), restarted after \(String(format: "%.1f", pause)) s as consumer \(worker.consumer)"
    }

    private func restartRedis(pause: Double) throws -> String {
        guard let server = cluster.redis.server else { return "no single redis-server to restart" }
        let began = DispatchTime.now()
        server.stop()
        usleep(useconds_t(pause * 1e6))
        try server.start()
        return String(format: "SHUTDOWN (AOF flushed), started again on the same port, AOF reloaded; down %.1f s", WriteDriver.seconds(since: began))
    }

    /// Malformed entries at `<top>-1`, `<top>-2`, …: above the stream's top, yet below the hub's
    /// next id `<top+1>-0`, so the hub's XADDs are never refused.
    private func poison(count: Int) throws -> String {
        let region = randomRegion()
        let conn = try cluster.redis.connection(for: region)
        defer { conn.close() }
        let key = region.keys.updates
        var added = 0
        var attempts = 0
        while added < count && attempts < 100 {
            attempts += 1
            guard let top = try conn.xrevrange(key: key, count: 1).first?.id,
                let dash = top.firstIndex(of: "-"), let seq = UInt64(top[..<dash]), let suffix = UInt64(top[top.index(after: dash)...])
            else { break }
            let id = "\(seq)-\(suffix + 1)"
            let fields: [(String, [UInt8])] = [("ctx", Array("poison".utf8)), ("ver", Array("not-a-number".utf8)), ("op", Array("put".utf8))]
            do {
                _ = try conn.xadd(key: key, id: id, fields: fields)
                added += 1
            } catch {
                continue  // the hub published in between: the top moved, try again above it
            }
        }
        lock.withLock { poisonByRegion[region.name, default: 0] += added }
        return "\(added) malformed entries into \(key)"
    }

    /// Stops one replica's workers, trims its stream past them, restarts them.
    private func trimStream(pause: Double) throws -> String {
        let files = cluster.replicaFiles
        let target = files[Int(rng.next() % UInt64(files.count))]
        let workers = cluster.workers.filter { $0.label == target.label }
        for worker in workers { worker.stop() }
        usleep(useconds_t(pause * 1e6))
        let region = try Region(target.region)
        let conn = try cluster.redis.connection(for: region)
        defer { conn.close() }
        let key = region.keys.updates
        let before = try conn.xlen(key: key)
        if let top = try conn.xrevrange(key: key, count: 1).first?.id {
            try conn.xtrim(key: key, to: .minID(top), approximate: false)
        }
        let after = try conn.xlen(key: key)
        for worker in workers { try worker.start(binary: cluster.binary) }
        return "stopped \(target.label) for \(String(format: "%.1f", pause)) s, trimmed \(key) from \(before) to \(after) entries"
    }

    /// Stops the hub for `seconds`, reading from every spoke meanwhile; ok when every read answered.
    private func stopHub(seconds: Double) throws -> (String, Bool) {
        cluster.stopHub()
        let until = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        var answered = 0
        var failed = 0
        let probes = cluster.workers.filter(\.isRunning).map { (HTTPProbe(port: $0.httpPort, timeoutMs: 2_000, token: cluster.readToken), $0) }
        var i = 0
        while DispatchTime.now().uptimeNanoseconds < until {
            for (probe, worker) in probes where worker.isRunning {
                let status = (try? probe.get("/v1/contexts/ctx-\(i % max(1, scenario.contexts))"))?.status ?? 0
                if status == 200 || status == 404 { answered += 1 } else { failed += 1 }
                i += 1
            }
            usleep(50_000)
        }
        lock.withLock {
            outageReads.answered += answered
            outageReads.failed += failed
        }
        try cluster.startHub()
        return ("hub down \(String(format: "%.1f", seconds)) s; spoke reads meanwhile: \(answered) answered, \(failed) failed", failed == 0 && answered > 0)
    }

    private func randomRegion() -> Region {
        scenario.regions[Int(rng.next() % UInt64(scenario.regions.count))]
    }

    /// `kill -9` the master of one region's slot, then waits (at most `waitSeconds`) for three
    /// moments, each in seconds after the death: the cluster's map names another master for the
    /// slot (its replica was promoted), every replica of every region that master held applied
    /// an entry the hub committed after the death, and every such replica's watermark reached
    /// its region's hub seq at the death (entries the old master acknowledged but never
    /// replicated are gaps, repaired by resync). ok when all three happened in time.
    private func killMaster(waitSeconds: Double) throws -> (String, Bool) {
        guard let redisCluster = cluster.redis.cluster else { return ("no Redis Cluster", false) }
        let region = randomRegion()
        let slot = region.keys.updates.hashSlot
        guard let master = try redisCluster.slotMap().master(of: slot),
            let node = redisCluster.nodes.first(where: { $0.address == master && $0.child.isRunning })
        else { return ("no running master for region \(region.name)'s slot \(slot)", false) }
        let map = try redisCluster.slotMap()
        let affected = scenario.regions.filter { map.master(of: $0.keys.updates.hashSlot) == master }
        let files = cluster.replicaFiles.filter { file in affected.contains { $0.name == file.region } }
        let deathUs = WallClock.nowUs()
        node.child.stop(signal: SIGKILL, timeout: 5)
        var seqAtDeath: [String: UInt64] = [:]
        for region in affected { seqAtDeath[region.name] = try hubStore.lastSeq(region: region) }
        collector.mark(committedAfterUs: deathUs, labels: files.map(\.label))
        let names = affected.map(\.name).joined(separator: ", ")
        log("fault: killed master \(master), which held regions \(names); hub seqs \(seqAtDeath)")
        func since() -> Double { Double(WallClock.nowUs() - deathUs) / 1e6 }
        var promoted: Double?
        var newMaster: ClusterNode?
        var firstApply: [String: Double] = [:]
        var converged: Double?
        while since() < waitSeconds {
            if promoted == nil, let now = try? redisCluster.slotMap().master(of: slot), now != master {
                promoted = since()
                newMaster = now
            }
            collector.poll()
            for file in files where firstApply[file.label] == nil {
                if let us = collector.replica(file.label)?.firstApplyAfterMarkUs { firstApply[file.label] = Double(us - deathUs) / 1e6 }
            }
            if converged == nil, files.allSatisfy({ cluster.watermarks.watermark($0.path) >= seqAtDeath[$0.region] ?? 0 }) {
                converged = since()
            }
            if promoted != nil, converged != nil, firstApply.count == files.count { break }
            usleep(20_000)
        }
        func text(_ value: Double?) -> String { value.map { String(format: "%.2f s", $0) } ?? "not within \(Int(waitSeconds)) s" }
        let first = firstApply.count == files.count ? firstApply.values.max() : nil
        let detail =
            "kill -9 master \(master) (chosen for region \(region.name)), which held regions \(names); "
            + "replica \(newMaster.map { "\($0)" } ?? "?") promoted after \(text(promoted)); "
            + "every replica of those regions applied an entry committed after the death after \(text(first)); "
            + "every watermark past its region's hub seq at the death after \(text(converged))"
        return (detail, promoted != nil && first != nil && converged != nil)
    }

    /// Moves one region's slot to another master while the writes flow, as
    /// `redis-cli --cluster reshard` does (keys migrated under MIGRATING/IMPORTING, then the slot
    /// handed over).
    private func reshard() throws -> String {
        guard let redisCluster = cluster.redis.cluster else { return "no Redis Cluster" }
        let region = randomRegion()
        let slot = region.keys.updates.hashSlot
        let map = try redisCluster.slotMap()
        guard let source = map.master(of: slot), let target = map.masters.first(where: { $0 != source }) else {
            return "no second master to move region \(region.name)'s slot \(slot) to"
        }
        let began = DispatchTime.now()
        let move = try redisCluster.beginMove(slot: slot, to: target)
        let moved = try move.migrateAll()
        try move.finish()
        return String(
            format: "moved region %@'s slot %d from %@ to %@: %d keys in %.2f s", region.name, slot, source.description,
            target.description, moved, WriteDriver.seconds(since: began))
    }
}
