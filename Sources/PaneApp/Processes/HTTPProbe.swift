import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A small blocking HTTP/1.1 client with keep-alive, for `pane dev`, the load-test driver and
/// tests. It speaks only what Pane's servers send: `Content-Length` bodies.
public final class HTTPProbe {
    public struct Reply: Sendable {
        public let status: Int
        public let headers: [String: String]
        public let body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
        /// A header by case-insensitive name.
        public func header(_ name: String) -> String? { headers[name.lowercased()] }
    }

    let host: String
    let port: Int
    let timeoutMs: Int
    /// Sent as `Authorization: Bearer <token>` with every request, unless a request names its
    /// own `Authorization` header.
    public var token: String?
    private var fd: Int32 = -1
    private var buffer: [UInt8] = []

    public init(host: String = "127.0.0.1", port: Int, timeoutMs: Int = 5_000, token: String? = nil) {
        self.host = host
        self.port = port
        self.timeoutMs = timeoutMs
        self.token = token
    }

    deinit { close() }

    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
        buffer = []
    }

    /// Sends one request; reconnects once if a kept-alive connection was closed by the server.
    public func request(_ method: String, _ path: String, body: [UInt8] = [], headers: [String: String] = [:]) throws -> Reply {
        do {
            return try attempt(method, path, body: body, headers: headers)
        } catch {
            close()
            return try attempt(method, path, body: body, headers: headers)
        }
    }

    public func get(_ path: String, headers: [String: String] = [:]) throws -> Reply { try request("GET", path, headers: headers) }

    private func attempt(_ method: String, _ path: String, body: [UInt8], headers: [String: String]) throws -> Reply {
        if fd < 0 { try connect() }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Length: \(body.count)\r\n"
        if let token, !headers.keys.contains(where: { $0.lowercased() == "authorization" }) {
            head += "Authorization: Bearer \(token)\r\n"
        }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        try send(Array(head.utf8) + body)
        let headerEnd = try readUntilHeaderEnd()
        let headText = String(decoding: buffer[0..<headerEnd], as: UTF8.self)
        buffer.removeFirst(headerEnd + 4)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw HTTPProbeError( "bad status line") }
        var fields: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        // A HEAD answer carries the GET's Content-Length and no body.
        let length = method == "HEAD" ? 0 : Int(fields["content-length"] ?? "0") ?? 0
        while buffer.count < length { try fill() }
        let payload = Array(buffer[0..<length])
        buffer.removeFirst(length)
        if fields["connection"]?.lowercased() == "close" { close() }
        return Reply(status: status, headers: fields, body: payload)
    }

    private func connect() throws {
        let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard sock >= 0 else { throw HTTPProbeError( "socket() failed") }
        var tv = timeval(tv_sec: timeoutMs / 1000, tv_usec: (timeoutMs % 1000) * 1000)
        setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(sock, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        do {
            addr.sin_addr = try Self.resolve(host)
        } catch {
            Glibc.close(sock)
            throw error
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(sock, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            Glibc.close(sock)
            throw HTTPProbeError( "cannot connect to \(host):\(port): \(String(cString: strerror(errno)))")
        }
        fd = sock
    }

    /// `host` as an IPv4 address: a dotted quad as it is, a name through the resolver. A name
    /// that does not resolve is an error naming it (it used to become 0.0.0.0, silently).
    public static func resolve(_ host: String) throws -> in_addr {
        var address = in_addr()
        if inet_pton(AF_INET, host, &address) == 1 { return address }
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var results: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, nil, &hints, &results)
        defer { if let results { freeaddrinfo(results) } }
        guard rc == 0, let first = results, let socketAddress = first.pointee.ai_addr else {
            throw HTTPProbeError("cannot resolve host '\(host)': \(String(cString: gai_strerror(rc)))")
        }
        return socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
    }

    private func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw HTTPProbeError( "send failed: \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw HTTPProbeError( n == 0 ? "connection closed" : "recv failed: \(String(cString: strerror(errno)))") }
        buffer.append(contentsOf: chunk[0..<n])
    }

    private func readUntilHeaderEnd() throws -> Int {
        var searchFrom = 0
        while true {
            if buffer.count >= 4 {
                var i = max(0, searchFrom - 3)
                while i + 3 < buffer.count {
                    if buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 { return i }
                    i += 1
                }
                searchFrom = buffer.count
            }
            try fill()
        }
    }
}
