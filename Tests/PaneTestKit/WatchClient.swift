import Foundation
import PaneApp

#if canImport(Glibc)
    import Glibc
#endif

/// A Server-Sent Events client for `GET /v1/watch`, on raw sockets and a thread of its own: it
/// connects, reads the status and headers, then collects events until the server ends the
/// stream or ``close()`` is called. It keeps the view the events describe (`put` sets a
/// context's version, `delete` removes it, `reset` clears everything) and checks that event
/// positions never go backwards.
public final class WatchClient: Sendable {
    /// One event as received.
    public struct Event: Sendable, Equatable {
        public let name: String
        public let id: String?
        public let data: String
    }

    struct State {
        var events: [Event] = []
        var view: [String: Int64] = [:]
        var ended = false
        var endReason = ""
        var lastID: String?
        var backwards: [String] = []
        var lastChange: Int64 = -1
        var file: String?
    }

    public let status: Int
    public let headers: [String: String]
    /// The body of a non-`200` answer.
    public let text: String
    private let fd: Int32
    private let state = Locked(State())
    private let closed = Locked(false)

    /// Opens a watch of `prefix` at `port`. With `read: false` the client never reads the body
    /// (a slow reader), and `receiveBuffer` shrinks its socket's buffer.
    public static func open(
        port: Int, prefix: String, lastEventID: String? = nil, headers: [String: String] = [:], read: Bool = true, receiveBuffer: Int? = nil
    ) throws -> WatchClient {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw WatchClientError("socket() failed") }
        if var size = receiveBuffer.map(Int32.init) {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var tv = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr = try HTTPProbe.resolve("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            Glibc.close(fd)
            throw WatchClientError("cannot connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
        }
        var request = "GET /v1/watch?prefix=\(prefix.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? prefix) HTTP/1.1\r\n"
        request += "Host: 127.0.0.1\r\n"
        var all = ["Accept": "text/event-stream"]
        if let lastEventID { all["Last-Event-ID"] = lastEventID }
        all.merge(headers) { $1 }
        for (name, value) in all { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        let bytes = Array(request.utf8)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var buffer: [UInt8] = []
        let deadline = Date().addingTimeInterval(10)
        var headerEnd: Int?
        while headerEnd == nil {
            guard Date() < deadline, Self.fill(fd, &buffer) else {
                Glibc.close(fd)
                throw WatchClientError("no answer head from the watch")
            }
            headerEnd = Self.find([13, 10, 13, 10], in: buffer)
        }
        let head = String(decoding: buffer[0..<(headerEnd ?? 0)], as: UTF8.self).components(separatedBy: "\r\n")
        let status = head.first.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        var fields: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let rest = Array(buffer[((headerEnd ?? 0) + 4)...])
        var text = ""
        if status != 200 {
            var body = rest
            let length = Int(fields["content-length"] ?? "") ?? 0
            while body.count < length, Date() < deadline, Self.fill(fd, &body) {}
            text = String(decoding: body, as: UTF8.self)
            Glibc.close(fd)
        }
        let client = WatchClient(fd: status == 200 ? fd : -1, status: status, headers: fields, text: text)
        if status == 200 && read {
            let thread = Thread { client.readLoop(initial: rest) }
            thread.name = "test-watch"
            thread.start()
        }
        return client
    }

    private init(fd: Int32, status: Int, headers: [String: String], text: String) {
        self.fd = fd
        self.status = status
        self.headers = headers
        self.text = text
    }

    /// Events received so far.
    public var events: [Event] { state.value.events }
    /// The contexts and versions the events describe.
    public var view: [String: Int64] { state.value.view }
    /// Whether the stream ended (the server closed or finished it, or ``close()``).
    public var ended: Bool { state.value.ended }
    /// How it ended: `finished` (the server ended the body), `closed` (the connection dropped).
    public var endReason: String { state.value.endReason }
    /// The id of the last event that had one: what a reconnect sends as `Last-Event-ID`.
    public var lastID: String? { state.value.lastID }
    /// Events whose position was below an earlier one's (described), on one file.
    public var backwards: [String] { state.value.backwards }
    /// Events named `name`.
    public func count(_ name: String) -> Int { state.value.events.filter { $0.name == name }.count }

    /// Carries on the position checks of `previous` (a reconnect continues its positions).
    public func continues(_ previous: WatchClient) {
        let earlier = previous.state.value
        state.withLock { state in
            if state.file == nil || state.file == earlier.file { state.lastChange = max(state.lastChange, earlier.lastChange) }
            state.file = state.file ?? earlier.file
        }
    }

    /// Closes the connection; the reading thread ends.
    public func close() {
        closed.value = true
        if fd >= 0 { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    private func readLoop(initial: [UInt8]) {
        var raw = initial
        var decoded: [UInt8] = []
        var reason = "closed"
        outer: while true {
            // Chunked transfer encoding: size line, data, CRLF; a zero size ends the body.
            while true {
                guard let lineEnd = Self.find([13, 10], in: raw) else { break }
                let sizeText = String(decoding: raw[0..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else {
                    reason = "bad chunk"
                    break outer
                }
                if size == 0 {
                    reason = "finished"
                    deliver(&decoded)
                    break outer
                }
                guard raw.count >= lineEnd + 2 + size + 2 else { break }
                decoded += raw[(lineEnd + 2)..<(lineEnd + 2 + size)]
                raw.removeFirst(lineEnd + 2 + size + 2)
            }
            deliver(&decoded)
            if closed.value { break }
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
        state.withLock { state in
            state.ended = true
            state.endReason = reason
        }
    }

    /// Parses the complete events (blocks ending in a blank line) at the front of `decoded`.
    private func deliver(_ decoded: inout [UInt8]) {
        while let end = Self.find([10, 10], in: decoded) {
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
            apply(Event(name: name, id: id, data: data.joined(separator: "\n")))
        }
    }

    private func apply(_ event: Event) {
        state.withLock { state in
            state.events.append(event)
            if let id = event.id {
                state.lastID = id
                let parts = id.split(separator: ".")
                if parts.count == 3, let change = Int64(parts[2]) {
                    let file = String(parts[1])
                    if state.file == file, change < state.lastChange {
                        state.backwards.append("\(event.name) \(id) after change \(state.lastChange)")
                    }
                    if state.file != file { state.lastChange = -1 }
                    state.file = file
                    state.lastChange = max(state.lastChange, change)
                }
            }
            switch event.name {
            case "reset": state.view = [:]
            case "put", "delete":
                guard let object = try? JSONSerialization.jsonObject(with: Data(event.data.utf8)) as? [String: Any],
                    let contextID = object["id"] as? String, let version = (object["version"] as? NSNumber)?.int64Value
                else { return }
                if event.name == "put" { state.view[contextID] = version } else { state.view[contextID] = nil }
            default: break
            }
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
            if Array(haystack[start..<(start + needle.count)]) == needle { return start }
        }
        return nil
    }
}
