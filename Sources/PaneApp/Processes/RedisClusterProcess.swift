import Foundation
import PaneCore
import PaneRedis

/// A private Redis Cluster on loopback: `masters` × (1 + `replicasPerMaster`) `redis-server`
/// processes in cluster mode, each in a folder of its own under `directory`, joined with
/// `redis-cli --cluster create`. For tests and the load-test runner.
public final class RedisClusterProcess: Sendable {
    /// Every node, masters first as `redis-cli` assigned them at creation.
    public let nodes: [Node]
    public let directory: String

    /// One cluster node: its process and address.
    public struct Node: Sendable {
        public let address: ClusterNode
        public let child: ChildProcess
        public var endpoint: RedisEndpoint { RedisEndpoint(host: address.host, port: address.port) }
    }

    /// Starts the nodes and creates the cluster; returns once `cluster_state:ok` is seen on every
    /// node. `nodeTimeoutMs` is `cluster-node-timeout` (how long until a dead master is failed over).
    public init(directory: String, masters: Int = 3, replicasPerMaster: Int = 1, nodeTimeoutMs: Int = 1_000) throws {
        guard let binary = RedisServerProcess.findBinary() else {
            throw ClusterStartError("redis-server not found. Install it with: apt-get update && apt-get install -y redis-server")
        }
        self.directory = directory
        var started: [Node] = []
        do {
            for index in 0..<(masters * (1 + replicasPerMaster)) {
                let folder = "\(directory)/node-\(index)"
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                var node: Node?
                for _ in 0..<5 {
                    // The cluster bus listens on port + 10000: both must be free, and outside the
                    // range other tests' ports come from.
                    let port = LocalPorts.freeClusterPort()
                    let child = try RedisServerProcess.launch(
                        binary: binary, port: port, directory: folder, appendOnly: false,
                        extraArguments: [
                            "--cluster-enabled", "yes", "--cluster-config-file", "\(folder)/nodes.conf",
                            "--cluster-node-timeout", String(nodeTimeoutMs),
                            // Replicas attach at once (Redis 7 waits 5 s for more replicas by default).
                            "--repl-diskless-sync-delay", "0",
                        ])
                    let address = ClusterNode(host: "127.0.0.1", port: port)
                    if RedisServerProcess.waitForPing(RedisEndpoint(host: address.host, port: port), child: child) {
                        node = Node(address: address, child: child)
                        break
                    }
                    child.stop(signal: SIGKILL)
                }
                guard let node else { throw ClusterStartError("a cluster node did not start; see \(folder)/redis.log") }
                started.append(node)
            }
            try Self.create(started.map(\.address), replicasPerMaster: replicasPerMaster, log: "\(directory)/create.log")
            try Self.waitUntilOK(started, replicasPerMaster: replicasPerMaster)
        } catch {
            for node in started { node.child.stop(signal: SIGKILL) }
            throw error
        }
        nodes = started
    }

    /// The seed list for `redis.cluster`: `host:port,host:port,…`.
    public var seeds: String { nodes.map(\.address.description).joined(separator: ",") }

    /// The current slot map, asked of the first node that answers.
    public func slotMap() throws -> SlotMap {
        var lastError: (any Error)?
        for node in nodes where node.child.isRunning {
            do {
                return try RedisConnection(endpoint: node.endpoint, readTimeoutMs: 2_000).clusterSlots(answeredBy: node.address)
            } catch {
                lastError = error
            }
        }
        throw lastError ?? ClusterStartError("no cluster node is running")
    }

    /// Starts moving `slot` from its master to `target`, as `redis-cli --cluster reshard` does:
    /// `IMPORTING` on the target, `MIGRATING` on the source. Move keys with
    /// ``SlotMove/migrate(_:)`` or ``SlotMove/migrateAll()``; ``SlotMove/finish()`` hands the slot over.
    public func beginMove(slot: Int, to target: ClusterNode) throws -> SlotMove {
        guard let source = try slotMap().master(of: slot) else { throw ClusterStartError("no master serves slot \(slot)") }
        let sourceConn = try connection(source)
        let targetConn = try connection(target)
        let sourceID = try sourceConn.clusterMyID()
        let targetID = try targetConn.clusterMyID()
        try targetConn.clusterSetSlot(slot, .importing(from: sourceID))
        try sourceConn.clusterSetSlot(slot, .migrating(to: targetID))
        return SlotMove(cluster: self, slot: slot, source: source, target: target, targetID: targetID)
    }

    /// A slot on its way from one master to another.
    public struct SlotMove: Sendable {
        let cluster: RedisClusterProcess
        public let slot: Int
        public let source: ClusterNode
        public let target: ClusterNode
        let targetID: String

        /// Moves `keys` (of the slot) to the target now.
        public func migrate(_ keys: [RedisKey]) throws {
            try cluster.connection(source).migrate(keys, to: target)
        }

        /// Moves every key still at the source, 100 at a time; returns how many moved.
        @discardableResult
        public func migrateAll() throws -> Int {
            let conn = try cluster.connection(source)
            var moved = 0
            while true {
                let keys = try conn.clusterKeys(inSlot: slot, count: 100)
                if keys.isEmpty { return moved }
                try conn.migrate(keys, to: target)
                moved += keys.count
            }
        }

        /// Hands the slot to the target on every master (target first, as redis-cli does).
        public func finish() throws {
            try cluster.connection(target).clusterSetSlot(slot, .node(targetID))
            for master in try cluster.slotMap().masters where master != target {
                try cluster.connection(master).clusterSetSlot(slot, .node(targetID))
            }
        }
    }

    func connection(_ node: ClusterNode) throws -> RedisConnection {
        try RedisConnection(endpoint: RedisEndpoint(host: node.host, port: node.port), connectTimeoutMs: 1_000, readTimeoutMs: 10_000)
    }

    /// Stops every node: `SHUTDOWN NOSAVE NOW`, then SIGTERM and SIGKILL for a node that is still
    /// there. (A child started by a thread that blocks SIGTERM, as a test runner's do, inherits the
    /// blocked signal: redis-server would ignore the SIGTERM.)
    public func stop() {
        for node in nodes where node.child.isRunning {
            try? RedisConnection(endpoint: node.endpoint, connectTimeoutMs: 500, readTimeoutMs: 2_000).shutdown(save: false, now: true)
        }
        for node in nodes { node.child.stop(timeout: 2) }
    }

    static func create(_ nodes: [ClusterNode], replicasPerMaster: Int, log: String) throws {
        let cli = Process()
        cli.executableURL = URL(fileURLWithPath: "/usr/bin/redis-cli")
        cli.arguments = ["--cluster", "create"] + nodes.map(\.description) + ["--cluster-replicas", String(replicasPerMaster), "--cluster-yes"]
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        defer { try? handle.close() }
        cli.standardOutput = handle
        cli.standardError = handle
        cli.standardInput = FileHandle.nullDevice
        try cli.run()
        cli.waitUntilExit()
        guard cli.terminationStatus == 0 else {
            throw ClusterStartError("redis-cli --cluster create exited \(cli.terminationStatus); see \(log)")
        }
    }

    /// Waits until every node says `cluster_state:ok` and the first node's slot map lists every
    /// master with its replicas (replicas join by gossip, a few seconds after `create`).
    static func waitUntilOK(_ nodes: [Node], replicasPerMaster: Int, seconds: Double = 30) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let ok = nodes.allSatisfy { node in
                (try? RedisConnection(endpoint: node.endpoint, readTimeoutMs: 1_000).clusterInfo()["cluster_state"]) == "ok"
            }
            let map = try? RedisConnection(endpoint: nodes[0].endpoint, readTimeoutMs: 1_000).clusterSlots(answeredBy: nodes[0].address)
            if ok, let map, map.uncoveredSlots == 0, map.ranges.allSatisfy({ $0.replicas.count >= replicasPerMaster }) { return }
            usleep(100_000)
        }
        throw ClusterStartError("the cluster did not reach cluster_state:ok with every replica attached within \(Int(seconds)) s")
    }

    struct ClusterStartError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
