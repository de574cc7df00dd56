import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A small blocking HTTP/1.1 client with keep-alive, for `pane dev`, the load-test driver and
/// tests. It speaks only what Pane's servers send: `Content-Length` bodies.
public final class HTTPProbe {
    public struct Reply: Sendable {
        public let status: Int
        public let head: HTTPAnswerHead
        public let body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
        /// Every header, by lower-case name.
        public var headers: [String: String] { head.fields }
        /// A header by case-insensitive name.
        public func header(_ name: String) -> String? { head.field(name) }
    }

    let host: String
    let port: Int
    let timeoutMs: Int
    /// Sent as `Authorization: Bearer <token>` with every request, unless a request names its
    /// own `Authorization` header.
    public var token: String? {
        didSet { authorization = Self.authorizationLine(token) }
    }
    private var fd: Int32 = -1
    /// Received bytes not yet read start at `readFrom`.
    private var buffer: [UInt8] = []
    private var readFrom = 0
    /// The request being sent, built in place (its capacity is kept from request to request).
    private var out: [UInt8] = []
    /// `Host: …` and `Authorization: …` lines, built once.
    private let hostLine: [UInt8]
    private var authorization: [UInt8]
    /// Where `recv` writes, allocated once per probe.
    private let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 1)

    public init(host: String = "127.0.0.1", port: Int, timeoutMs: Int = 5_000, token: String? = nil) {
        self.host = host
        self.port = port
        self.timeoutMs = timeoutMs
        self.token = token
        hostLine = Array("Host: \(host):\(port)\r\n".utf8)
        authorization = Self.authorizationLine(token)
    }

    deinit {
        close()
        chunk.deallocate()
    }

    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
        buffer = []
        readFrom = 0
    }

    private static func authorizationLine(_ token: String?) -> [UInt8] {
        token.map { Array("Authorization: Bearer \($0)\r\n".utf8) } ?? []
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
        out.removeAll(keepingCapacity: true)
        out.append(contentsOf: method.utf8)
        out.append(32)
        out.append(contentsOf: path.utf8)
        out.append(contentsOf: " HTTP/1.1\r\n".utf8)
        out.append(contentsOf: hostLine)
        out.append(contentsOf: "Content-Length: ".utf8)
        out.append(contentsOf: String(body.count).utf8)
        out.append(contentsOf: "\r\n".utf8)
        if !headers.keys.contains(where: { HTTPAnswerHead.equalsIgnoringASCIICase($0.utf8, "authorization") }) {
            out.append(contentsOf: authorization)
        }
        for (name, value) in headers {
            out.append(contentsOf: name.utf8)
            out.append(contentsOf: ": ".utf8)
            out.append(contentsOf: value.utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        out.append(contentsOf: "\r\n".utf8)
        out.append(contentsOf: body)
        try send(out)
        let headerEnd = try readUntilHeaderEnd()
        let head = HTTPAnswerHead(buffer[readFrom..<headerEnd])
        readFrom = headerEnd + 4
        guard head.status != 0 else { throw HTTPProbeError("bad status line") }
        // A HEAD answer carries the GET's Content-Length and no body.
        let length = method == "HEAD" ? 0 : head.contentLength ?? 0
        while buffer.count - readFrom < length { try fill() }
        let payload = Array(buffer[readFrom..<(readFrom + length)])
        readFrom += length
        if readFrom == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readFrom = 0
        }
        if head.closesConnection { close() }
        return Reply(status: head.status, head: head, body: payload)
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
        let n = recv(fd, chunk.baseAddress, chunk.count, 0)
        guard n > 0 else { throw HTTPProbeError( n == 0 ? "connection closed" : "recv failed: \(String(cString: strerror(errno)))") }
        if readFrom > 0 && readFrom == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readFrom = 0
        } else if readFrom >= 65_536 {
            buffer.removeFirst(readFrom)
            readFrom = 0
        }
        buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
    }

    /// The index in ``buffer`` of the CRLF CRLF that ends the answer's head.
    private func readUntilHeaderEnd() throws -> Int {
        // Bytes after `readFrom` already searched (``fill()`` may move what is unread to the front).
        var searched = 0
        while true {
            if buffer.count - readFrom >= 4 {
                var i = readFrom + max(0, searched - 3)
                while i + 3 < buffer.count {
                    if buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 { return i }
                    i += 1
                }
                searched = buffer.count - readFrom
            }
            try fill()
        }
    }
}
