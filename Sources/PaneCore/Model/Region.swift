/// The name of a region: one Redis stream, one set of replicas.
///
/// Region names are 1–64 characters of `a-z`, `0-9`, `-`, `_` and `.`, so they are safe inside
/// Redis keys (`pane:{R}:updates`), file names and URLs.
public struct Region: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The validated name.
    public let name: String

    /// Validates `name` as a region name.
    public init(_ name: String) throws(ValidationError) {
        guard (1...64).contains(name.utf8.count),
            name.utf8.allSatisfy({ Region.allowed($0) })
        else {
            throw ValidationError(
                input: "region",
                value: name,
                reason: "a region name is 1-64 characters of a-z, 0-9, '-', '_' and '.'"
            )
        }
        self.name = name
    }

    private static func allowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
            return true
        default:
            return false
        }
    }

    /// Parses a comma-separated list such as `us-east-1,eu-west-1`; duplicates are refused.
    public static func list(_ text: String) throws(ValidationError) -> [Region] {
        var result: [Region] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let region = try Region(part.trimmingCharacters(in: " "))
            guard !result.contains(region) else {
                throw ValidationError(input: "regions", value: text, reason: "region '\(region)' is listed twice")
            }
            result.append(region)
        }
        return result
    }

    public var description: String { name }
    public static func < (lhs: Region, rhs: Region) -> Bool { lhs.name < rhs.name }
}

extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        var s = self
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
