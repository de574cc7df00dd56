import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A blocking Server-Sent Events client on a raw socket, for the tests and the load-test
/// runner: it sends one `GET`, reads the answer's head, then (``run(_:)``) decodes the chunked
/// body into events until the server ends it or ``close()`` is called.
public final class EventStreamClient: @unchecked Sendable {
    /// One event as received.
    public struct Event: Sendable, Equatable {
        public let name: String
        public let id: String?
        public let data: String
    }

    public let status: Int
    /// Header names in lower case.
    public let headers: [String: String]
    /// The body of an answer other than `200` (read whole, by its `Content-Length`).
    public let text: String
    private let fd: Int32
    private var rest: [UInt8]
    private let closed = Mutex(false)

    /// Connects to `host:port`, sends `GET path` with `Accept: text/event-stream` and `headers`,
    /// and reads the answer's head (within 10 s). `receiveBuffer` shrinks the socket's receive
    /// buffer (a slow reader's). A `200` answer leaves the connection open for ``run(_:)``.
    public init(host: String = "127.0.0.1", port: Int, path: String, headers: [String: String] = [:], receiveBuffer: Int? = nil) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HTTPProbeError("socket() failed: \(String(cString: strerror(errno)))") }
        if var size = receiveBuffer.map(Int32.init) {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var tv = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        do { addr.sin_addr = try HTTPProbe.resolve(host) } catch {
            Glibc.close(fd)
            throw error
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            Glibc.close(fd)
            throw HTTPProbeError("cannot connect to \(host):\(port): \(String(cString: strerror(errno)))")
        }
        var request = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\n"
        var all = ["Accept": "text/event-stream"]
        all.merge(headers) { $1 }
        for (name, value) in all.sorted(by: { $0.key < $1.key }) { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        let bytes = Array(request.utf8)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var buffer: [UInt8] = []
        let deadline = Date().addingTimeInterval(10)
        var headerEnd: Int?
        while headerEnd == nil {
            guard Date() < deadline, Self.fill(fd, &buffer) else {
                Glibc.close(fd)
                throw HTTPProbeError("no answer head from \(host):\(port)\(path)")
            }
            headerEnd = Self.find([13, 10, 13, 10], in: buffer)
        }
        let end = headerEnd ?? 0
        let head = HTTPAnswerHead(buffer[0..<end])
        status = head.status
        self.headers = head.fields
        rest = Array(buffer[(end + 4)...])
        if status == 200 {
            text = ""
            self.fd = fd
        } else {
            var body = rest
            let length = head.contentLength ?? 0
            while body.count < length, Date() < deadline, Self.fill(fd, &body) {}
            text = String(decoding: body, as: UTF8.self)
            Glibc.close(fd)
            self.fd = -1
        }
    }

    /// Reads events until the body ends or the connection closes, calling `onEvent` for each;
    /// returns how it ended: `finished` (the server ended the body), `closed` (the connection
    /// dropped or ``close()``), `bad chunk`. Call it once, on a thread of its own.
    public func run(_ onEvent: (Event) -> Void) -> String {
        guard fd >= 0 else { return "not open" }
        var raw = rest
        rest = []
        var decoded: [UInt8] = []
        var reason = "closed"
        outer: while true {
            // Chunked transfer encoding: a size line, the data, CRLF; a zero size ends the body.
            while let lineEnd = Self.find([13, 10], in: raw) {
                let sizeText = String(decoding: raw[0..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else {
                    reason = "bad chunk"
                    break outer
                }
                if size == 0 {
                    Self.deliver(&decoded, onEvent)
                    reason = "finished"
                    break outer
                }
                guard raw.count >= lineEnd + 2 + size + 2 else { break }
                decoded += raw[(lineEnd + 2)..<(lineEnd + 2 + size)]
                raw.removeFirst(lineEnd + 2 + size + 2)
            }
            Self.deliver(&decoded, onEvent)
            if closed.withLock({ $0 }) { break }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            if n < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { continue }
                break
            }
            raw += chunk[0..<n]
        }
        Glibc.close(fd)
        return reason
    }

    /// Ends the connection; ``run(_:)`` returns. Without ``run(_:)`` running, it closes the socket.
    public func close(running: Bool = true) {
        closed.withLock { $0 = true }
        guard fd >= 0 else { return }
        if running { shutdown(fd, Int32(SHUT_RDWR)) } else { Glibc.close(fd) }
    }

    /// Parses the complete events (blocks ending in a blank line) at the front of `decoded`.
    static func deliver(_ decoded: inout [UInt8], _ onEvent: (Event) -> Void) {
        while let end = find([10, 10], in: decoded) {
            let block = String(decoding: decoded[0..<end], as: UTF8.self)
            decoded.removeFirst(end + 2)
            var name = "message"
            var id: String?
            var data: [String] = []
            for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                if line.hasPrefix("id: ") { id = String(line.dropFirst(4)) }
                if line.hasPrefix("data: ") { data.append(String(line.dropFirst(6))) }
            }
            onEvent(Event(name: name, id: id, data: data.joined(separator: "\n")))
        }
    }

    static func fill(_ fd: Int32, _ buffer: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 { buffer += chunk[0..<n] }
        return n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR))
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return start }
        }
        return nil
    }
}
