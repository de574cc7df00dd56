/// The head of an HTTP/1.1 answer (status line and header lines, without the blank line that
/// ends it), read straight off its bytes: no `String` per line, no dictionary, unless a caller
/// asks for ``fields``. Pure. ``HTTPProbe`` and ``EventStreamClient`` read their answers with it;
/// the load-test writers parse one per write, so it stays cheap.
///
/// Names compare without regard to ASCII case; values lose the spaces and tabs around them; of
/// a name given twice the last line counts.
public struct HTTPAnswerHead: Sendable, Equatable {
    /// The status code: the second word of the status line; 0 when it is not a number.
    public let status: Int
    /// The head's bytes, status line included.
    let bytes: [UInt8]

    public init(_ head: some Collection<UInt8>) {
        bytes = Array(head)
        let lineEnd = bytes.firstIndex { $0 == 13 || $0 == 10 } ?? bytes.count
        let words = bytes[..<lineEnd].split(separator: 32)
        status = words.count >= 2 ? Self.number(words[1]) ?? 0 : 0
    }

    /// The value of header `name` (any case), or nil.
    public func field(_ name: String) -> String? {
        value(of: name).map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    /// `Content-Length` as a number; nil when absent or not a number.
    public var contentLength: Int? {
        value(of: "content-length").flatMap { Self.number(bytes[$0]) }
    }

    /// Whether `Connection: close` (any case) ends the connection after this answer.
    public var closesConnection: Bool {
        guard let range = value(of: "connection") else { return false }
        return Self.equalsIgnoringASCIICase(bytes[range], "close")
    }

    /// Every header, by lower-case name.
    public var fields: [String: String] {
        var fields: [String: String] = [:]
        forEachLine { name, value in
            fields[String(decoding: bytes[name], as: UTF8.self).lowercased()] = String(decoding: bytes[value], as: UTF8.self)
        }
        return fields
    }

    /// Where the value of the last line named `name` is in ``bytes``.
    private func value(of name: String) -> Range<Int>? {
        var found: Range<Int>?
        forEachLine { nameRange, value in
            if Self.equalsIgnoringASCIICase(bytes[nameRange], name) { found = value }
        }
        return found
    }

    /// Calls `body(name, value)` for every header line with a colon, after the status line;
    /// the value without the spaces and tabs around it.
    private func forEachLine(_ body: (Range<Int>, Range<Int>) -> Void) {
        var lineStart = 0
        var first = true
        var index = 0
        let end = bytes.count
        while index <= end {
            guard index == end || bytes[index] == 10 else {
                index += 1
                continue
            }
            var lineEnd = index
            if lineEnd > lineStart && bytes[lineEnd - 1] == 13 { lineEnd -= 1 }
            if !first, let colon = bytes[lineStart..<lineEnd].firstIndex(of: 58) {
                var from = colon + 1
                var to = lineEnd
                while from < to && (bytes[from] == 32 || bytes[from] == 9) { from += 1 }
                while to > from && (bytes[to - 1] == 32 || bytes[to - 1] == 9) { to -= 1 }
                body(lineStart..<colon, from..<to)
            }
            first = false
            index += 1
            lineStart = index
        }
    }

    /// Decimal digits as a number; nil for anything else (empty, a sign, more than 18 digits).
    static func number(_ digits: ArraySlice<UInt8>) -> Int? {
        guard !digits.isEmpty, digits.count <= 18 else { return nil }
        var value = 0
        for byte in digits {
            guard byte >= 48 && byte <= 57 else { return nil }
            value = value * 10 + Int(byte - 48)
        }
        return value
    }

    static func equalsIgnoringASCIICase(_ bytes: some Sequence<UInt8>, _ text: String) -> Bool {
        var utf8 = text.utf8.makeIterator()
        for byte in bytes {
            guard let other = utf8.next(), Self.lower(byte) == Self.lower(other) else { return false }
        }
        return utf8.next() == nil
    }

    private static func lower(_ byte: UInt8) -> UInt8 { byte >= 65 && byte <= 90 ? byte + 32 : byte }
}
