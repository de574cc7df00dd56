/// The tokens a process accepts, each with its role; several per role, so a token can be
/// rotated without downtime (add the new one, move the clients, remove the old one).
///
/// Lookups compare the presented token with every known token in constant time, so the time
/// an answer takes says nothing about how much of a token was right.
public struct TokenSet: Sendable, Equatable {
    struct Entry: Sendable, Equatable {
        let token: [UInt8]
        let role: Role
    }

    private(set) var entries: [Entry]

    /// No tokens: every request that needs one is refused.
    public init() { entries = [] }

    /// Tokens and their roles; a token given twice keeps its first role.
    public init(_ tokens: [(role: Role, token: String)]) {
        var entries: [Entry] = []
        for (role, token) in tokens where !entries.contains(where: { $0.token == Array(token.utf8) }) {
            entries.append(Entry(token: Array(token.utf8), role: role))
        }
        self.entries = entries
    }

    /// How many tokens each role has (never the tokens), for logs.
    public var counts: [Role: Int] {
        var counts: [Role: Int] = [:]
        for entry in entries { counts[entry.role, default: 0] += 1 }
        return counts
    }

    /// `read=2 write=1 admin=1 metrics=0`: the counts in role order, for a log line.
    public var summary: String {
        let counts = self.counts
        return Role.allCases.map { "\($0)=\(counts[$0] ?? 0)" }.joined(separator: " ")
    }

    public var isEmpty: Bool { entries.isEmpty }

    /// The role of `token`, or `nil` when it is not known. Every entry is compared, each in
    /// time that depends only on the stored token's length.
    public func role(of token: some Collection<UInt8>) -> Role? {
        let presented = Array(token)
        var found: Role? = nil
        for entry in entries where Self.constantTimeEquals(entry.token, presented) {
            found = found ?? entry.role
        }
        return found
    }

    /// Whether a request that needs `access`, carrying the `Authorization` header value
    /// `authorization` (`nil` when absent), may go on.
    public func decide(_ access: Access, authorization: String?) -> AccessDecision {
        guard let authorization else { return .unauthorized(.missing) }
        guard let token = BearerToken.parse(authorization) else { return .unauthorized(.notBearer) }
        guard let role = role(of: token.utf8) else { return .unauthorized(.unknown) }
        return role.allows(access) ? .allowed(role) : .forbidden(role: role, needs: access)
    }

    /// Equal bytes, compared without an early exit: the loop runs over all of `stored` whatever
    /// `presented` holds.
    static func constantTimeEquals(_ stored: [UInt8], _ presented: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: stored.count ^ presented.count)
        if stored.count != presented.count { difference |= 1 }
        for index in stored.indices {
            let other = index < presented.count ? presented[index] : 0
            difference |= stored[index] ^ other
        }
        return difference == 0
    }
}

/// The answer to one request.
public enum AccessDecision: Sendable, Equatable {
    /// The token's role allows the request.
    case allowed(Role)
    /// No token, not a bearer token, or a token nobody issued: `401`.
    case unauthorized(Unauthorized)
    /// A known token whose role does not allow the request: `403`.
    case forbidden(role: Role, needs: Access)

    public enum Unauthorized: Sendable, Equatable {
        case missing, notBearer, unknown

        /// The error text of the 401 body.
        public var message: String {
            switch self {
            case .missing: "this request needs a token: send Authorization: Bearer <token>"
            case .notBearer: "the Authorization header is not 'Bearer <token>'"
            case .unknown: "the token is not known (it may have been removed)"
            }
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header (RFC 6750).
public enum BearerToken {
    /// The token, or `nil` when the value is not `Bearer` (any case), spaces, and a token of
    /// RFC 6750's `b64token` characters.
    ///
    /// Byte by byte: every request with a token passes here, and splitting and lower-casing the
    /// header as Unicode text cost as much as the rest of a point read's handler.
    public static func parse(_ value: String) -> String? {
        let bytes = value.utf8
        let space = UInt8(ascii: " ")
        var index = bytes.startIndex
        while index < bytes.endIndex, bytes[index] == space { index = bytes.index(after: index) }
        for expected in "bearer".utf8 {
            // ASCII letters only: `| 0x20` lower-cases them and leaves no other byte equal to one.
            guard index < bytes.endIndex, bytes[index] | 0x20 == expected else { return nil }
            index = bytes.index(after: index)
        }
        guard index < bytes.endIndex, bytes[index] == space else { return nil }
        while index < bytes.endIndex, bytes[index] == space { index = bytes.index(after: index) }
        var end = bytes.endIndex
        while end > index, bytes[bytes.index(before: end)] == space { end = bytes.index(before: end) }
        let token = value[index..<end]
        guard TokenFile.isToken(token) else { return nil }
        return String(token)
    }
}
