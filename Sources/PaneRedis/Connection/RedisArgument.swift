/// One argument of a Redis command: binary-safe bytes, writable as a string literal.
///
/// The command families (`Commands/`) build these; code outside PaneRedis calls the typed
/// methods, and builds arguments only for ``RedisConnection/command(_:)``, the escape hatch.
public struct RedisArgument: Sendable, Hashable, ExpressibleByStringLiteral {
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public init(_ text: String) { self.bytes = Array(text.utf8) }
    public init(_ number: Int) { self.bytes = Array(String(number).utf8) }
    public init(stringLiteral value: String) { self.bytes = Array(value.utf8) }
    public init(_ key: some RedisKeyName) { self.bytes = Array(key.rawValue.utf8) }
    public init(_ group: ConsumerGroup) { self.bytes = Array(group.rawValue.utf8) }
    public init(_ consumer: ConsumerName) { self.bytes = Array(consumer.rawValue.utf8) }
    public init(_ pattern: KeyPattern) { self.bytes = Array(pattern.rawValue.utf8) }

    var text: String { String(decoding: bytes, as: UTF8.self) }
}
