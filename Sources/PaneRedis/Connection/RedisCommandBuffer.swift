import PaneCore

/// Commands encoded as RESP into one buffer, ready to pipeline with a single write.
///
/// Encoding here, instead of handing hiredis an argv per command, saves one array and one copy
/// per argument; the publisher sends thousands of XADDs per round.
///
/// Fill it with the pipelined methods of the command families (`buffer.xadd(…)`,
/// `buffer.hset(…)`, … in `Commands/`), then hand it to ``RedisConnection/pipeline(_:)-(RedisCommandBuffer)``
/// or ``RedisConnection/send(_:)``. ``begin(arguments:)`` and the `argument` methods are for
/// encoders that stream a command's arguments themselves (``beginXadd(key:seq:suffix:fieldCount:)``).
public struct RedisCommandBuffer: Sendable {
    public private(set) var bytes: [UInt8] = []
    /// How many commands the buffer holds, so many replies to read.
    public private(set) var count = 0
    /// The first command's name, for error messages.
    public internal(set) var firstCommand: String?

    public init(reservingCapacity capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    /// Starts a command of `arguments` arguments; append exactly that many next.
    public mutating func begin(arguments: Int) {
        bytes.append(UInt8(ascii: "*"))
        appendDecimal(arguments)
        appendCRLF()
        count += 1
    }

    /// One argument: `$<length>\r\n<bytes>\r\n`, the bytes copied in one piece.
    public mutating func argument(bytes value: UnsafeRawBufferPointer) {
        bytes.append(UInt8(ascii: "$"))
        appendDecimal(value.count)
        appendCRLF()
        bytes.append(contentsOf: value)
        appendCRLF()
    }

    public mutating func argument(_ value: [UInt8]) {
        value.withUnsafeBytes { argument(bytes: $0) }
    }

    public mutating func argument<C: Collection>(_ value: C) where C.Element == UInt8 {
        if let done: Void = value.withContiguousStorageIfAvailable({ argument(bytes: UnsafeRawBufferPointer($0)) }) {
            return done
        }
        argument(Array(value))
    }

    public mutating func argument(_ value: String) {
        if count == 1 && firstCommand == nil { firstCommand = value }
        var value = value
        value.withUTF8 { argument(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// A decimal integer argument, followed by `suffix` (`"-0"` makes a stream id of a seq).
    public mutating func argument(_ value: Int, suffix: StaticString = "") {
        DecimalDigits.withDigits(of: Int64(value), suffix: suffix) { argument(bytes: $0) }
    }

    public mutating func argument(_ value: UInt64) {
        argument(Int(truncatingIfNeeded: value))
    }

    /// A key argument.
    public mutating func argument(_ key: some RedisKeyName) { argument(key.rawValue) }

    /// Starts a command of `arguments` arguments after its name; append exactly that many next.
    mutating func command(_ name: StaticString, arguments: Int) {
        begin(arguments: 1 + arguments)
        if firstCommand == nil { firstCommand = name.description }
        name.withUTF8Buffer { argument(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// A whole command from arguments: the escape hatch, like ``RedisConnection/command(_:)``.
    public mutating func append(_ args: [RedisArgument]) {
        begin(arguments: args.count)
        for (i, arg) in args.enumerated() {
            if i == 0, firstCommand == nil { firstCommand = String(decoding: arg.bytes, as: UTF8.self) }
            argument(arg.bytes)
        }
    }

    private mutating func appendCRLF() {
        bytes.append(13)
        bytes.append(10)
    }

    private mutating func appendDecimal(_ value: Int) {
        if value >= 0 && value < 10 {
            bytes.append(UInt8(ascii: "0") + UInt8(value))
        } else {
            DecimalDigits.withDigits(of: Int64(value)) { bytes.append(contentsOf: $0) }
        }
    }
}
