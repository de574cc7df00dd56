/// Commands encoded as RESP into one buffer, ready to pipeline with a single write.
///
/// Encoding here, instead of handing hiredis an argv per command, saves one array and one copy
/// per argument; the publisher sends thousands of XADDs per round.
public struct RedisCommandBuffer: Sendable {
    public private(set) var bytes: [UInt8] = []
    /// How many commands the buffer holds, so many replies to read.
    public private(set) var count = 0
    /// The first command's name, for error messages.
    public private(set) var firstCommand: String?

    public init(reservingCapacity capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    /// Starts a command of `arguments` arguments; append exactly that many next.
    public mutating func begin(arguments: Int) {
        bytes.append(UInt8(ascii: "*"))
        appendDecimal(arguments)
        bytes.append(contentsOf: [13, 10])
        count += 1
    }

    public mutating func argument<C: Collection>(_ value: C) where C.Element == UInt8 {
        bytes.append(UInt8(ascii: "$"))
        appendDecimal(value.count)
        bytes.append(contentsOf: [13, 10])
        bytes.append(contentsOf: value)
        bytes.append(contentsOf: [13, 10])
    }

    public mutating func argument(_ value: String) {
        if count == 1 && firstCommand == nil { firstCommand = value }
        argument(value.utf8)
    }

    public mutating func argument(_ value: Int) {
        // Digits first, then the length prefix: at most 20 digits, kept off the heap.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        let count = withUnsafeMutableBytes(of: &digits) { raw -> Int in
            var n = value.magnitude
            var length = 0
            repeat {
                raw[23 - length] = UInt8(ascii: "0") + UInt8(n % 10)
                n /= 10
                length += 1
            } while n > 0
            if value < 0 {
                raw[23 - length] = UInt8(ascii: "-")
                length += 1
            }
            return length
        }
        withUnsafeBytes(of: &digits) { raw in argument(raw[(24 - count)...]) }
    }

    public mutating func argument(_ value: UInt64) {
        argument(Int(truncatingIfNeeded: value))
    }

    /// A whole command from arguments.
    public mutating func append(_ args: [RedisArgument]) {
        begin(arguments: args.count)
        for (i, arg) in args.enumerated() {
            if i == 0, firstCommand == nil { firstCommand = String(decoding: arg.bytes, as: UTF8.self) }
            argument(arg.bytes)
        }
    }

    private mutating func appendDecimal(_ value: Int) {
        Self.decimal(value, into: &bytes)
    }

    static func decimal(_ value: Int, into out: inout [UInt8]) {
        if value < 0 {
            out.append(UInt8(ascii: "-"))
            decimal(-value, into: &out)
            return
        }
        if value < 10 {
            out.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = value
        var length = 0
        withUnsafeMutableBytes(of: &digits) { raw in
            while n > 0 {
                raw[length] = UInt8(ascii: "0") + UInt8(n % 10)
                n /= 10
                length += 1
            }
            for i in stride(from: length - 1, through: 0, by: -1) { out.append(raw[i]) }
        }
    }
}
