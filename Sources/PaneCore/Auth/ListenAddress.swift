/// Whether a listen address is reachable only from this machine: the rule behind
/// secure-by-default (a hub or spoke listening elsewhere needs a tokens file).
public enum ListenAddress {
    /// `localhost`, `127.0.0.0/8` and `::1` (also in brackets). Everything else, `0.0.0.0` and
    /// `::` included, can be reached from other machines.
    public static func isLoopback(_ host: String) -> Bool {
        var host = host.lowercased()
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets.allSatisfy({ !$0.isEmpty && $0.count <= 3 && UInt8($0) != nil }) else { return false }
        return octets[0] == "127"
    }
}
