import PaneCore

/// Connection and server commands (https://redis.io/docs/latest/commands/?group=server,connection).
extension RedisConnection {
    /// `PING`; returns when the server answered `PONG`. https://redis.io/docs/latest/commands/ping/
    public func ping() throws(RedisError) {
        let reply = try command(["PING"])
        guard reply.string == "PONG" else { throw RedisError(.protocolViolation, "PING answered \(reply)", command: "PING") }
    }

    /// `AUTH [username] password`: logs this connection in (as `default` without a user).
    /// ``RedisConnection/init(endpoint:connectTimeoutMs:readTimeoutMs:)`` sends it first when the
    /// endpoint has a password. https://redis.io/docs/latest/commands/auth/
    public func auth(user: String?, password: String) throws(RedisError) {
        var args: [RedisArgument] = ["AUTH"]
        if let user { args.append(RedisArgument(user)) }
        args.append(RedisArgument(password))
        try command(args)
    }

    /// `SELECT index`: switches this connection to another database.
    /// https://redis.io/docs/latest/commands/select/
    public func select(_ database: Int) throws(RedisError) {
        try command(["SELECT", RedisArgument(database)])
    }

    /// `INFO [section]`: the server's `name:value` report, as text.
    /// https://redis.io/docs/latest/commands/info/
    public func info(_ section: String? = nil) throws(RedisError) -> String {
        var args: [RedisArgument] = ["INFO"]
        if let section { args.append(RedisArgument(section)) }
        return try command(args).string ?? ""
    }

    /// `CONFIG GET parameter` (a glob): the matching parameters and their values.
    /// https://redis.io/docs/latest/commands/config-get/
    public func configGet(_ parameter: String) throws(RedisError) -> [String: String] {
        try command(["CONFIG", "GET", RedisArgument(parameter)]).fieldMap.compactMapValues(\.string)
    }

    /// `CONFIG SET parameter value`. https://redis.io/docs/latest/commands/config-set/
    public func configSet(_ parameter: String, _ value: String) throws(RedisError) {
        try command(["CONFIG", "SET", RedisArgument(parameter), RedisArgument(value)])
    }

    /// `FLUSHALL`: deletes every key of every database. https://redis.io/docs/latest/commands/flushall/
    public func flushall() throws(RedisError) {
        try command(["FLUSHALL"])
    }

    /// `DBSIZE`: how many keys the current database holds. https://redis.io/docs/latest/commands/dbsize/
    public func dbsize() throws(RedisError) -> Int {
        Int(try command(["DBSIZE"]).int ?? 0)
    }

    /// `MEMORY USAGE key`: bytes the key and its value take; nil when the key does not exist.
    /// https://redis.io/docs/latest/commands/memory-usage/
    public func memoryUsage(key: some RedisKeyName) throws(RedisError) -> Int? {
        try command(["MEMORY", "USAGE", RedisArgument(key)]).int.map(Int.init)
    }

    /// `SHUTDOWN [NOSAVE|SAVE] [NOW]`: the server persists as configured (or as `save` says) and
    /// exits; with `now`, without waiting for lagging replicas. Returns once the server closed the
    /// connection; the connection is closed then. https://redis.io/docs/latest/commands/shutdown/
    public func shutdown(save: Bool? = nil, now: Bool = false) throws(RedisError) {
        var args: [RedisArgument] = ["SHUTDOWN"]
        if let save { args.append(save ? "SAVE" : "NOSAVE") }
        if now { args.append("NOW") }
        do {
            try command(args)
        } catch where error.kind == .io {
            return  // the server is gone: what SHUTDOWN asked for
        }
    }
}

extension RedisConnection {
    /// The server's eviction policy, memory limit and AOF setting (``PaneCore/RedisDurability``),
    /// from `INFO memory` and `INFO persistence`: `CONFIG GET` would need a permission that also
    /// reads secrets (`masterauth`), which Pane's Redis users do not get (ops/redis/pane.acl).
    public func durability() throws(RedisError) -> RedisDurability {
        RedisDurability(info: try info("memory") + "\n" + (try info("persistence")))
    }
}
