import Foundation
import PaneApp
import PaneRuntime
import PaneTestKit
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 13, item 7: ``HTTPProbe`` reads answers off their bytes (``HTTPAnswerHead``), keeps its
/// receive buffer across requests on a kept-alive connection, and builds each request in place.
@Suite struct HTTPProbeAnswerTests {
    @Test func headReadsStatusFieldsAndLengthOffBytes() {
        let head = HTTPAnswerHead(
            Array(
                ("HTTP/1.1  201 Created\r\nContent-Length:  17 \r\nETag: \"3\"\r\nX-Twice: a\r\nbroken line\r\n"
                    + "x-twice:\tb\t\r\nConnection: Close").utf8))
        #expect(head.status == 201)
        #expect(head.contentLength == 17)
        #expect(head.field("etag") == "\"3\"" && head.field("ETAG") == "\"3\"")
        #expect(head.field("x-twice") == "b")
        #expect(head.field("missing") == nil)
        #expect(head.closesConnection)
        #expect(head.fields == ["content-length": "17", "etag": "\"3\"", "x-twice": "b", "connection": "Close"])
        #expect(HTTPAnswerHead(Array("HTTP/1.1 abc OK\r\n".utf8)).status == 0)
        #expect(HTTPAnswerHead(Array("HTTP/1.1\r\nA: 1".utf8)).status == 0)
        #expect(HTTPAnswerHead(Array("HTTP/1.1 200 OK\r\nContent-Length: -5".utf8)).contentLength == nil)
        #expect(HTTPAnswerHead(Array("HTTP/1.1 200 OK\r\nContent-Length: 1x".utf8)).contentLength == nil)
        #expect(HTTPAnswerHead(Array("HTTP/1.1 200 OK\r\nConnection: keep-alive".utf8)).closesConnection == false)
        // A header line is not read as the status line, nor the status line as a header.
        #expect(HTTPAnswerHead(Array("HTTP/1.1 204 A: b".utf8)).fields.isEmpty)
    }

    /// A raw server answers three requests on one connection: two answers in one write, the
    /// third's head split across writes, a body larger than one `recv`, then `Connection: close`.
    @Test func keptAliveAnswersArriveWholeHoweverTheBytesAreCut() async throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(bound == 0 && listen(listener, 4) == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let big = String(repeating: "z", count: 200_000)
        let served = Task {
            try await BlockingThread.value(name: "probe-test-server") { () -> [String] in
                let fd = accept(listener, nil, nil)
                defer {
                    close(fd)
                    close(listener)
                }
                var requests: [String] = []
                var pending = [UInt8]()
                func readRequest() {
                    while true {
                        if let end = Self.find(pending, [13, 10, 13, 10]) {
                            let text = String(decoding: pending[..<end], as: UTF8.self)
                            let bodyLength = text.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                                .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                            if pending.count >= end + 4 + bodyLength {
                                requests.append(String(decoding: pending[..<(end + 4 + bodyLength)], as: UTF8.self))
                                pending.removeFirst(end + 4 + bodyLength)
                                return
                            }
                        }
                        var chunk = [UInt8](repeating: 0, count: 4096)
                        let n = recv(fd, &chunk, chunk.count, 0)
                        guard n > 0 else { return }
                        pending += chunk[0..<n]
                    }
                }
                func write(_ text: String) { _ = Array(text.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) } }
                readRequest()
                // The first answer and the next, unasked yet, in one write.
                write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirstHTTP/1.1 404 Not Found\r\ncontent-length: 6\r\n\r\nsecond")
                readRequest()
                readRequest()
                write("HTTP/1.1 200 OK\r\nEtag: \"9\"\r\nContent-Length: \(big.utf8.count)\r\nConnection: close\r")
                usleep(50_000)
                write("\n\r")
                usleep(50_000)
                write("\n\(big)")
                return requests
            }
        }
        let replies = try await BlockingThread.value(name: "probe-test-client") { () -> [HTTPProbe.Reply] in
            let probe = HTTPProbe(port: port, timeoutMs: 10_000, token: "secret")
            return [
                try probe.request("PUT", "/a", body: Array("{}".utf8), headers: ["Content-Type": "application/json"]),
                try probe.get("/b", headers: ["authorization": "Bearer other"]),
                try probe.get("/c"),
            ]
        }
        #expect(replies.map(\.status) == [200, 404, 200])
        #expect(replies.map(\.text).prefix(2) == ["first", "second"])
        #expect(replies[2].body.count == big.utf8.count && replies[2].header("etag") == "\"9\"", "\(replies[2].body.count) \(replies[2].headers)")
        let requests = try await served.value
        #expect(requests.count == 3)
        #expect(
            requests.first
                == "PUT /a HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Length: 2\r\nAuthorization: Bearer secret\r\n"
                + "Content-Type: application/json\r\n\r\n{}")
        #expect(requests.dropFirst().first?.contains("authorization: Bearer other\r\n") == true)
        #expect(requests.dropFirst().first?.contains("secret") == false)
    }

    static func find(_ bytes: [UInt8], _ pattern: [UInt8]) -> Int? {
        guard bytes.count >= pattern.count else { return nil }
        for i in 0...(bytes.count - pattern.count) where Array(bytes[i..<(i + pattern.count)]) == pattern { return i }
        return nil
    }
}
