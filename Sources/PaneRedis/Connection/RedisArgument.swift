/// One argument of a Redis command: binary-safe bytes, writable as a string literal.
public struct RedisArgument: Sendable, Hashable, ExpressibleByStringLiteral {
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public init(_ text: String) { self.bytes = Array(text.utf8) }
    public init(_ number: Int) { self.bytes = Array(String(number).utf8) }
    public init(stringLiteral value: String) { self.bytes = Array(value.utf8) }

    var text: String { String(decoding: bytes, as: UTF8.self) }
}
