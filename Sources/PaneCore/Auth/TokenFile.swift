/// The tokens file of `hub.tokensFile` and `spoke.tokensFile`: one `ROLE TOKEN` line per token,
/// `#` comments and blank lines allowed.
///
/// ```
/// # clients of the eu-west-1 readers
/// read    3f9c0a1e6d2b47c8a5e1f0d9b8c7a6e5
/// write   9a8b7c6d5e4f30211f2e3d4c5b6a7980
/// admin   ops-2026-12-01-1c2d3e4f5a6b7c8d
/// metrics prom-0f1e2d3c4b5a69788796a5b4c3d2
/// ```
///
/// Roles are `read`, `write`, `admin` and `metrics` (see ``Role``). A token is at least
/// ``minimumLength`` characters of RFC 6750's `b64token` set (letters, digits, `-._~+/`, then
/// `=` padding). A token may appear only once. Errors name the line, never its text: a
/// line that cannot be read may hold a token.
public enum TokenFile {
    public static let minimumLength = 16

    /// The tokens of a file's text.
    public static func parse(_ text: String) throws(TokenFileError) -> TokenSet {
        var tokens: [(role: Role, token: String)] = []
        var firstLine: [String: Int] = [:]
        var number = 0
        for line in lines(text) {
            number += 1
            let fields = line.split(whereSeparator: isBlank)
            if fields.isEmpty || fields[0].hasPrefix("#") { continue }
            guard fields.count == 2 else { throw TokenFileError(line: number, .malformed(fields: fields.count)) }
            guard let role = Role(rawValue: String(fields[0])) else { throw TokenFileError(line: number, .unknownRole) }
            let token = String(fields[1])
            guard isToken(fields[1]) else { throw TokenFileError(line: number, .badCharacters) }
            guard token.utf8.count >= minimumLength else { throw TokenFileError(line: number, .tooShort) }
            if let earlier = firstLine[token] { throw TokenFileError(line: number, .duplicate(of: earlier)) }
            firstLine[token] = number
            tokens.append((role, token))
        }
        return TokenSet(tokens)
    }

    /// The one token of a client's token file (`--token-file`, `PANE_TOKEN_FILE`): the first
    /// line that is not blank or a `#` comment, trimmed.
    public static func single(_ text: String) throws(TokenFileError) -> String {
        var number = 0
        for line in lines(text) {
            number += 1
            let fields = line.split(whereSeparator: isBlank)
            if fields.isEmpty || fields[0].hasPrefix("#") { continue }
            guard fields.count == 1 else { throw TokenFileError(line: number, .malformed(fields: fields.count)) }
            guard isToken(fields[0]) else { throw TokenFileError(line: number, .badCharacters) }
            return String(fields[0])
        }
        throw TokenFileError(line: number, .empty)
    }

    /// The lines of `text`, ended by LF or CRLF (one `Character` in Swift).
    private static func lines(_ text: String) -> [Substring] {
        text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
    }

    private static func isBlank(_ character: Character) -> Bool {
        character == " " || character == "\t" || character == "\r"
    }

    /// RFC 6750 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
    public static func isToken(_ text: some StringProtocol) -> Bool {
        var padding = false
        var count = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: "=") {
                guard count > 0 else { return false }
                padding = true
            } else {
                guard !padding, isTokenByte(byte) else { return false }
            }
            count += 1
        }
        return count > 0
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "+"), UInt8(ascii: "/"): true
        default: false
        }
    }
}

/// A tokens file that cannot be used, with the line at fault. The description never quotes
/// the line: it may hold a token.
public struct TokenFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Problem: Sendable, Equatable {
        case malformed(fields: Int)
        case unknownRole
        case badCharacters
        case tooShort
        case duplicate(of: Int)
        case empty
    }

    /// The 1-based line number.
    public let line: Int
    public let problem: Problem

    public init(line: Int, _ problem: Problem) {
        self.line = line
        self.problem = problem
    }

    public var description: String {
        switch problem {
        case .malformed(let fields): "line \(line): expected 'ROLE TOKEN' (two fields), found \(fields) fields"
        case .unknownRole: "line \(line): unknown role (the roles are read, write, admin and metrics)"
        case .badCharacters: "line \(line): the token has characters other than letters, digits and -._~+/ (then = padding)"
        case .tooShort: "line \(line): the token is shorter than \(TokenFile.minimumLength) characters"
        case .duplicate(let earlier): "line \(line): the token is already given on line \(earlier)"
        case .empty: "no token in the file (\(line) lines)"
        }
    }
}
