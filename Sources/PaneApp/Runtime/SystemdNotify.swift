import Foundation

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
