/// A position in the hub's history, as readers carry it (`Pane-Index`): the hub's identity and,
/// for each region, a region seq. A hub write answers with the seqs that write got in the
/// regions it went to; a spoke answers with its replica's watermark in its own region.
///
/// On the wire it is opaque: `p1.` and base64url (no padding) of `HUB|REGION=SEQ,REGION=SEQ`.
/// The hub's identity is a random id made when the hub's database was created, so a token from
/// another database's history (a hub rebuilt from nothing, seqs starting again) is recognised
/// and refused (``PositionCheck/otherHistory(token:replica:)``) instead of being compared as
/// if its seqs meant the same writes.
public struct PositionToken: Sendable, Equatable, CustomStringConvertible {
    /// The hub database's identity: 1-64 characters of `a-z`, `0-9`.
    public let hub: String
    public let positions: [Region: UInt64]

    public init(hub: String, positions: [Region: UInt64]) {
        self.hub = hub
        self.positions = positions
    }

    static let prefix = "p1."

    /// The token as sent in `Pane-Index` and `"index"`.
    /// Built byte by byte: every hub write's answer carries one (issue 13, the hub's CPU per write).
    public var encoded: String {
        var body: [UInt8] = []
        body.reserveCapacity(hub.utf8.count + 1 + positions.count * 32)
        body.append(contentsOf: hub.utf8)
        body.append(UInt8(ascii: "|"))
        for (n, position) in positions.sorted(by: { $0.key < $1.key }).enumerated() {
            if n > 0 { body.append(UInt8(ascii: ",")) }
            body.append(contentsOf: position.key.name.utf8)
            body.append(UInt8(ascii: "="))
            body.append(contentsOf: String(position.value).utf8)
        }
        return Self.prefix + Base64URL.encode(body)
    }

    public var description: String { encoded }

    /// Parses a token; the error names `input` (the header or parameter it came from).
    public init(parsing text: String, input: String) throws(ValidationError) {
        func bad(_ reason: String) -> ValidationError {
            ValidationError(input: input, value: text, reason: "not a position token from a Pane-Index header: \(reason)")
        }
        guard text.hasPrefix(Self.prefix), text.utf8.count <= 4096 else { throw bad("it does not start with p1.") }
        guard let bytes = Base64URL.decode(text.dropFirst(Self.prefix.count)),
            let body = String(validating: bytes, as: UTF8.self)
        else { throw bad("bad encoding") }
        let parts = body.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, (1...64).contains(parts[0].utf8.count),
            parts[0].utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x7A).contains($0) })
        else { throw bad("no hub identity") }
        var positions: [Region: UInt64] = [:]
        for pair in parts[1].split(separator: ",") {
            let fields = pair.split(separator: "=")
            guard fields.count == 2, let seq = UInt64(fields[1]), seq <= UInt64(Int64.max),
                let region = try? Region(String(fields[0])), positions[region] == nil
            else { throw bad("bad region position '\(pair)'") }
            positions[region] = seq
        }
        self.init(hub: String(parts[0]), positions: positions)
    }
}

/// What a replica makes of a position it is asked to reflect.
public enum PositionCheck: Sendable, Equatable {
    /// The replica's watermark is at or past the token's seq for its region.
    case reached
    /// Not yet: the replica is at `replica`, the token asks for `needed`.
    case behind(needed: UInt64, replica: UInt64)
    /// The token names no position in this replica's region (the write did not go there): no
    /// wait can satisfy it.
    case notInRegion
    /// The token comes from another hub database's history.
    case otherHistory(token: String, replica: String)

    /// Compares `token` with a replica of `region` at `watermark` that follows hub `hub`
    /// (`nil` while the replica has not learned its hub's identity: then it is not checked).
    public static func check(_ token: PositionToken, region: Region, watermark: UInt64, hub: String?) -> PositionCheck {
        if let hub, hub != token.hub { return .otherHistory(token: token.hub, replica: hub) }
        guard let needed = token.positions[region] else { return .notInRegion }
        return watermark >= needed ? .reached : .behind(needed: needed, replica: watermark)
    }
}

/// base64url without padding (RFC 4648 §5): letters, digits, `-` and `_`, safe in a header
/// and in a query string.
public enum Base64URL {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= bytes.count {
            let n = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(alphabet[Int(n >> 6 & 63)])
            out.append(alphabet[Int(n & 63)])
            index += 3
        }
        let rest = bytes.count - index
        if rest > 0 {
            var n = UInt32(bytes[index]) << 16
            if rest == 2 { n |= UInt32(bytes[index + 1]) << 8 }
            let shifts = rest == 1 ? [18, 12] : [18, 12, 6]
            for shift in shifts { out.append(alphabet[Int(n >> UInt32(shift) & 63)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: Substring) -> [UInt8]? {
        var values: [UInt8] = []
        values.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): values.append(byte - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): values.append(byte - UInt8(ascii: "a") + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): values.append(byte - UInt8(ascii: "0") + 52)
            case UInt8(ascii: "-"): values.append(62)
            case UInt8(ascii: "_"): values.append(63)
            default: return nil
            }
        }
        guard values.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        var index = 0
        while index < values.count {
            let chunk = values[index..<min(index + 4, values.count)]
            var n: UInt32 = 0
            for (offset, value) in chunk.enumerated() { n |= UInt32(value) << UInt32(18 - 6 * offset) }
            out.append(UInt8(n >> 16 & 0xFF))
            if chunk.count > 2 { out.append(UInt8(n >> 8 & 0xFF)) }
            if chunk.count > 3 { out.append(UInt8(n & 0xFF)) }
            index += 4
        }
        return out
    }
}
