/// A cluster node's client address, as `CLUSTER SLOTS` and redirections name it.
public struct ClusterNode: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` (the last `:` separates the port, so IPv6 hosts work). An empty host
    /// (Redis 7 answers `:6380` when the node does not know its own address) is returned as
    /// `""`: the caller substitutes the host of the node that answered.
    public init?(address: some StringProtocol) {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
            (1...65535).contains(port)
        else { return nil }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
