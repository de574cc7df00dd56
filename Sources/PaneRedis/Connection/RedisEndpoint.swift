/// Where a Redis server listens: parsed from `redis://host:port[/db]`.
public struct RedisEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var database: Int

    public init(host: String, port: Int = 6379, database: Int = 0) {
        self.host = host
        self.port = port
        self.database = database
    }

    /// Parses `redis://host[:port][/db]`. TLS (`rediss://`) is not available with hiredis 0.14.
    public init(url: String) throws(RedisError) {
        let prefix = "redis://"
        guard url.hasPrefix(prefix) else {
            throw RedisError(.badURL, "Redis URL '\(url)' must start with redis:// (rediss:// is not supported by hiredis 0.14)")
        }
        var rest = Substring(url.dropFirst(prefix.count))
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let dbText = rest[rest.index(after: slash)...]
            if !dbText.isEmpty {
                guard let db = Int(dbText), db >= 0 else {
                    throw RedisError(.badURL, "Redis URL '\(url)': database '\(dbText)' is not a number")
                }
                database = db
            }
            rest = rest[..<slash]
        }
        if rest.contains("@") {
            throw RedisError(.badURL, "Redis URL '\(url)': credentials in the URL are not supported yet")
        }
        var host = String(rest)
        var port = 6379
        if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            let portText = rest[rest.index(after: colon)...]
            guard let p = Int(portText), (1...65535).contains(p) else {
                throw RedisError(.badURL, "Redis URL '\(url)': port '\(portText)' is not 1-65535")
            }
            port = p
        }
        guard !host.isEmpty else { throw RedisError(.badURL, "Redis URL '\(url)' has no host") }
        self.init(host: host, port: port, database: database)
    }

    public var description: String { "redis://\(host):\(port)" + (database == 0 ? "" : "/\(database)") }
}
