import Foundation
import Logging
import PaneRuntime
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// sd_notify(3) by hand: one datagram to the unix socket systemd names in `NOTIFY_SOCKET`
/// (a path, or an abstract name written `@name`). No libsystemd.
public enum SystemdNotify {
    /// Sends `message` (`READY=1`, `STOPPING=1`, `STATUS=…`) when `NOTIFY_SOCKET` is set;
    /// false when it is not set or the datagram could not be sent.
    @discardableResult
    public static func send(_ message: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        guard let socketPath = environment["NOTIFY_SOCKET"], !socketPath.isEmpty else { return false }
        var pathBytes = Array(socketPath.utf8)
        if pathBytes.first == UInt8(ascii: "@") { pathBytes[0] = 0 }  // abstract namespace
        var address = sockaddr_un()
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else { return false }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in pathBytes.enumerated() { raw[index] = byte }
        }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        // An abstract name's length counts exactly; a path's includes its terminating zero.
        let length = MemoryLayout<sa_family_t>.size + pathBytes.count + (pathBytes.first == 0 ? 0 : 1)
        let bytes = Array(message.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), socketAddress, socklen_t(length)) }
            }
        }
        return sent == bytes.count
    }
}

/// Tells systemd (`Type=notify`) that a hub or spoke is ready, and that it stops: `READY=1`
/// once its HTTP server answers `/healthz` (the other services were started with it, by the
/// same group), `STOPPING=1` when the graceful shutdown begins. Listed last in the group, so it
/// is the first service to hear of the shutdown. Without `NOTIFY_SOCKET` it does nothing.
public struct SystemdReadiness: Service {
    let host: String
    let port: Int
    let logger: Logger

    public init(host: String, port: Int, logger: Logger) {
        self.host = host
        self.port = port
        self.logger = logger
    }

    /// Whether systemd asked for notifications.
    public static var isWanted: Bool { ProcessInfo.processInfo.environment["NOTIFY_SOCKET"] != nil }

    public func run() async throws {
        let probeHost = ["0.0.0.0", "::", "[::]", ""].contains(host) ? "127.0.0.1" : host
        let port = self.port
        do {
            try await cancelWhenGracefulShutdown {
                while true {
                    let up = try await BlockingThread.value(name: "pane-notify") {
                        (try? HTTPProbe(host: probeHost, port: port, timeoutMs: 500).get("/healthz").status) == 200
                    }
                    if up { break }
                    try await Task.sleep(for: .milliseconds(20))
                }
                if SystemdNotify.send("READY=1\nSTATUS=serving on \(host):\(port)") {
                    logger.info("told systemd READY=1")
                }
                try await gracefulShutdown()
            }
        } catch is CancellationError {
            // Shut down or cancelled: fall through and say so.
        }
        SystemdNotify.send("STOPPING=1")
    }
}
