import PaneCore

/// Cluster commands (https://redis.io/docs/latest/commands/?group=cluster).
extension RedisConnection {
    /// `CLUSTER SLOTS`: which master (and replicas) serve which slots, as a ``SlotMap``.
    /// A node's empty host (`""`, when it does not know its own address) becomes `answeredBy`'s.
    /// https://redis.io/docs/latest/commands/cluster-slots/
    public func clusterSlots(answeredBy: ClusterNode) throws(RedisError) -> SlotMap {
        let reply = try command(["CLUSTER", "SLOTS"])
        guard let items = reply.array else {
            throw RedisError(.protocolViolation, "CLUSTER SLOTS answered \(reply)", command: "CLUSTER")
        }
        func node(_ value: RESPValue) -> ClusterNode? {
            guard let fields = value.array, fields.count >= 2, let host = fields[0].string, let port = fields[1].int,
                let node = ClusterNode(address: "\(host):\(port)")
            else { return nil }
            return node.host.isEmpty || node.host == "?" ? ClusterNode(host: answeredBy.host, port: node.port) : node
        }
        var ranges: [SlotMap.Range] = []
        for item in items {
            guard let fields = item.array, fields.count >= 3, let low = fields[0].int, let high = fields[1].int, low <= high,
                let master = node(fields[2])
            else {
                throw RedisError(.protocolViolation, "CLUSTER SLOTS answered a range it cannot mean: \(item)", command: "CLUSTER")
            }
            ranges.append(SlotMap.Range(slots: Int(low)...Int(high), master: master, replicas: fields.dropFirst(3).compactMap(node)))
        }
        guard let map = SlotMap(ranges: ranges) else {
            throw RedisError(.protocolViolation, "CLUSTER SLOTS answered overlapping or out-of-range slots", command: "CLUSTER")
        }
        return map
    }

    /// `CLUSTER KEYSLOT key`: the slot the server computes for `key`.
    /// https://redis.io/docs/latest/commands/cluster-keyslot/
    public func clusterKeyslot(_ key: String) throws(RedisError) -> Int {
        let reply = try command(["CLUSTER", "KEYSLOT", RedisArgument(key)])
        guard let slot = reply.int else { throw RedisError(.protocolViolation, "CLUSTER KEYSLOT answered \(reply)", command: "CLUSTER") }
        return Int(slot)
    }

    /// `CLUSTER INFO` as `name: value`; `cluster_state` is `ok` when every slot is served.
    /// https://redis.io/docs/latest/commands/cluster-info/
    public func clusterInfo() throws(RedisError) -> [String: String] {
        let text = try command(["CLUSTER", "INFO"]).string ?? ""
        var info: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            info[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return info
    }

    /// `ASKING`: the next command on this connection may touch a slot that is being imported
    /// here (after an `ASK` redirection). https://redis.io/docs/latest/commands/asking/
    public func asking() throws(RedisError) {
        try command(["ASKING"])
    }

    /// `CLUSTER MYID`: this node's id. https://redis.io/docs/latest/commands/cluster-myid/
    public func clusterMyID() throws(RedisError) -> String {
        try command(["CLUSTER", "MYID"]).string ?? ""
    }

    /// How a slot's owner changes during a reshard (`CLUSTER SETSLOT`).
    public enum SlotState: Sendable {
        /// On the target: accept `ASKING` commands for the slot, which node `from` still owns.
        case importing(from: String)
        /// On the source: answer `ASK` for keys of the slot that are gone.
        case migrating(to: String)
        /// Everywhere, at the end: node `id` owns the slot.
        case node(String)
    }

    /// `CLUSTER SETSLOT slot IMPORTING|MIGRATING|NODE id`: one step of moving a slot, as
    /// `redis-cli --cluster reshard` does. https://redis.io/docs/latest/commands/cluster-setslot/
    public func clusterSetSlot(_ slot: Int, _ state: SlotState) throws(RedisError) {
        switch state {
        case .importing(let from): try command(["CLUSTER", "SETSLOT", RedisArgument(slot), "IMPORTING", RedisArgument(from)])
        case .migrating(let to): try command(["CLUSTER", "SETSLOT", RedisArgument(slot), "MIGRATING", RedisArgument(to)])
        case .node(let id): try command(["CLUSTER", "SETSLOT", RedisArgument(slot), "NODE", RedisArgument(id)])
        }
    }

    /// `CLUSTER GETKEYSINSLOT slot count`. https://redis.io/docs/latest/commands/cluster-getkeysinslot/
    public func clusterKeys(inSlot slot: Int, count: Int) throws(RedisError) -> [RedisKey] {
        (try command(["CLUSTER", "GETKEYSINSLOT", RedisArgument(slot), RedisArgument(count)]).array ?? []).compactMap {
            $0.string.map { RedisKey($0) }
        }
    }

    /// `MIGRATE host port "" 0 timeout KEYS key…`: moves keys to another node atomically.
    /// https://redis.io/docs/latest/commands/migrate/
    public func migrate(_ keys: [RedisKey], to node: ClusterNode, timeoutMs: Int = 5_000) throws(RedisError) {
        guard !keys.isEmpty else { return }
        try command(
            ["MIGRATE", RedisArgument(node.host), RedisArgument(node.port), "", "0", RedisArgument(timeoutMs), "KEYS"]
                + keys.map { RedisArgument($0) })
    }
}
