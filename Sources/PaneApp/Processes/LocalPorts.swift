import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Free TCP ports on the loopback interface.
public enum LocalPorts {
    /// A free loopback port for a server this process starts: a random port below the kernel's
    /// ephemeral range (32768 and up) that binds now and that this process has not handed out
    /// before. Binding port 0 instead gave an ephemeral port, which the kernel could then give an
    /// outgoing connection before the server bound it ("address already in use", seen in tests).
    /// Ports 23000–29999: the cluster ports (``freeClusterPort()``) use 20000–22699 and 30000–32699.
    public static func free() -> Int { freeRun(1) }

    /// The first of `count` consecutive ports that ``free()`` could each return, all handed out
    /// together (for `pane dev --port`, which takes a run of them).
    public static func freeRun(_ count: Int) -> Int {
        for _ in 0..<500 {
            let base = Int.random(in: 23_000...(30_000 - count))
            let run = base..<(base + count)
            let taken = handedOut.withLock { set -> Bool in
                if run.contains(where: set.contains) { return true }
                set.formUnion(run)
                return false
            }
            if !taken && run.allSatisfy(isFree) { return base }
        }
        return bindLoopback(port: 0) ?? 0
    }

    /// Ports ``free()`` returned in this process, never returned twice.
    private static let handedOut = Mutex<Set<Int>>([])

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
            guard handedOut.withLock({ $0.insert(port).inserted }) else { continue }
            if isFree(port) && isFree(port + 10_000) { return port }
        }
        return free()
    }
}
