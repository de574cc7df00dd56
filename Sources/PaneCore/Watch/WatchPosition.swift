/// A position in one replica file's change log: what a watcher carries (`id:` of a watch event,
/// `Last-Event-ID` on reconnect) and what ``PaneReader`` hands out.
///
/// Every row change of a replica (an applied entry, a snapshot row, a row a snapshot removes)
/// gets the next number of a counter kept in the file, `change`. A position says "every change up
/// to this number has been seen". The counter is local to the file, so a position carries the
/// file's identity (a random id made when the file got its change log): a position from another
/// replica file, or from a file rebuilt from nothing, is recognised (``WatchStart``), never
/// compared as if its numbers meant the same changes.
///
/// On the wire: `w1.FILE.CHANGE`, `FILE` 1–16 lowercase hex digits, `CHANGE` a decimal number.
public struct WatchPosition: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The replica file's identity (lowercase hex).
    public let file: String
    /// The last change counted in.
    public let change: Int64

    public init(file: String, change: Int64) {
        self.file = file
        self.change = change
    }

    /// The file id as stored in the replica file (a random positive 63-bit number), in hex.
    public init(fileID: Int64, change: Int64) {
        self.init(file: String(UInt64(bitPattern: fileID), radix: 16), change: change)
    }

    static let prefix = "w1."

    /// The position as sent on the wire.
    public var encoded: String { "\(Self.prefix)\(file).\(change)" }

    public var description: String { encoded }

    /// Parses a position; the error names `input` (the header or parameter it came from).
    public init(parsing text: String, input: String) throws(ValidationError) {
        func bad(_ reason: String) -> ValidationError {
            ValidationError(input: input, value: text, reason: "not a watch position (w1.FILE.CHANGE, from an event's id): \(reason)")
        }
        guard text.hasPrefix(Self.prefix) else { throw bad("it does not start with w1.") }
        let parts = text.dropFirst(Self.prefix.count).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw bad("it has no FILE.CHANGE") }
        let file = parts[0]
        guard (1...16).contains(file.utf8.count),
            file.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        else { throw bad("the file id is not 1-16 lowercase hex digits") }
        guard parts[1].utf8.count <= 19, parts[1].utf8.allSatisfy({ (0x30...0x39).contains($0) }), let change = Int64(parts[1]) else {
            throw bad("the change is not a number")
        }
        self.init(file: String(file), change: change)
    }
}
