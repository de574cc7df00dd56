#if canImport(Glibc)
    import Glibc
#endif

/// Free TCP ports on the loopback interface.
public enum LocalPorts {
    /// Asks the kernel for a free port by binding port 0, then releases it.
    public static func free() -> Int { bindLoopback(port: 0) ?? 0 }

    /// Whether `port` can be bound on loopback now.
    public static func isFree(_ port: Int) -> Bool { bindLoopback(port: port) != nil }

    /// Binds a TCP socket to loopback `port` (0: any) and closes it; the port it got, or nil when
    /// the bind failed.
    private static func bindLoopback(port: Int) -> Int? {
        let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(sock) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { ptr in bind(sock, ptr, len) == 0 && getsockname(sock, ptr, &len) == 0 }
        }
        return bound ? Int(UInt16(bigEndian: addr.sin_port)) : nil
    }

    /// A port `p` below the kernel's ephemeral range (32768 and up) such that `p` and
    /// `p + 10000` are both free: a Redis Cluster node listens on both (its bus), and neither may
    /// take a port that ``free()`` hands another process or the kernel gives an outgoing connection.
    public static func freeClusterPort() -> Int {
        for _ in 0..<200 {
            let port = Int.random(in: 20_000..<22_700)
            if isFree(port) && isFree(port + 10_000) { return port }
        }
        return free()
    }
}
