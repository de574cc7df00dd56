/// Where a Redis server listens, and who logs in: parsed from `redis://[user[:password]@]host:port[/db]`.
///
/// ``description`` never shows the password (`redis://pane-spoke:****@host:6379`): it is what
/// logs, errors and status print. ``urlWithoutPassword`` is what a parent process passes to a
/// child on its command line (the password then goes through a file, `redis.passwordFile`).
public struct RedisEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var database: Int
    /// The ACL user, or nil for `default` (`AUTH password` alone, or no `AUTH`).
    public var user: String?
    /// The password sent with `AUTH` on every connect; nil sends no `AUTH`.
    public var password: String?

    public init(host: String, port: Int = 6379, database: Int = 0, user: String? = nil, password: String? = nil) {
        self.host = host
        self.port = port
        self.database = database
        self.user = user
        self.password = password
    }

    /// Parses `redis://[user[:password]@]host[:port][/db]`; user and password may be
    /// percent-encoded (`%40` for `@`). `redis://:password@host` logs in as `default`.
    /// TLS (`rediss://`) is not available with hiredis 0.14: use a tunnel (docs/operations.md).
    /// Errors never contain the password.
    public init(url: String) throws(RedisError) {
        let prefix = "redis://"
        let shown = Self.masked(url)
        guard url.hasPrefix(prefix) else {
            throw RedisError(
                .badURL,
                "Redis URL '\(shown)' must start with redis:// (rediss:// is not supported by hiredis 0.14; "
                    + "use a TLS tunnel, see docs/operations.md)")
        }
        var rest = Substring(url.dropFirst(prefix.count))
        var user: String?
        var password: String?
        // The authority ends at the first '/', and the user info at its last '@'.
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        if let at = rest[..<authorityEnd].lastIndex(of: "@") {
            let info = rest[..<at]
            rest = rest[rest.index(after: at)...]
            let userText: Substring
            if let colon = info.firstIndex(of: ":") {
                userText = info[..<colon]
                guard let decoded = Self.percentDecoded(info[info.index(after: colon)...]) else {
                    throw RedisError(.badURL, "Redis URL '\(shown)': the password has a bad %-escape")
                }
                guard !decoded.isEmpty else {
                    throw RedisError(.badURL, "Redis URL '\(shown)': the password after ':' is empty")
                }
                password = decoded
            } else {
                userText = info
            }
            guard let decodedUser = Self.percentDecoded(userText) else {
                throw RedisError(.badURL, "Redis URL '\(shown)': the user name has a bad %-escape")
            }
            if !decodedUser.isEmpty {
                guard decodedUser.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
                    throw RedisError(.badURL, "Redis URL '\(shown)': the user name must be visible ASCII")
                }
                user = decodedUser
            }
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let dbText = rest[rest.index(after: slash)...]
            if !dbText.isEmpty {
                guard let db = Int(dbText), db >= 0 else {
                    throw RedisError(.badURL, "Redis URL '\(shown)': database '\(dbText)' is not a number")
                }
                database = db
            }
            rest = rest[..<slash]
        }
        var host = String(rest)
        var port = 6379
        if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            let portText = rest[rest.index(after: colon)...]
            guard let p = Int(portText), (1...65535).contains(p) else {
                throw RedisError(.badURL, "Redis URL '\(shown)': port '\(portText)' is not 1-65535")
            }
            port = p
        }
        guard !host.isEmpty else { throw RedisError(.badURL, "Redis URL '\(shown)' has no host") }
        self.init(host: host, port: port, database: database, user: user, password: password)
    }

    /// The name `AUTH` logs in as, for messages: the user, or `default`.
    public var userName: String { user ?? "default" }

    /// The URL with the password masked: what logs, errors and status print.
    public var description: String { url(password: password == nil ? nil : "****") }

    /// The URL with the user but without the password: what a parent passes on a child's command line.
    public var urlWithoutPassword: String { url(password: nil) }

    /// The whole URL, password included. Only for places that must hand the secret on and that
    /// no person reads (never logs, errors or command lines).
    public var urlWithPassword: String { url(password: password.map(Self.percentEncoded)) }

    /// This endpoint logging in with `password` (from `redis.passwordFile`).
    public func with(password: String) -> RedisEndpoint {
        var copy = self
        copy.password = password
        return copy
    }

    private func url(password shown: String?) -> String {
        var info = user.map(Self.percentEncoded) ?? ""
        if let shown { info += ":" + shown }
        let authority = info.isEmpty ? "" : info + "@"
        return "redis://\(authority)\(host):\(port)" + (database == 0 ? "" : "/\(database)")
    }

    /// `text` with the password of a `scheme://user:password@` URL replaced by `****`, for errors
    /// about a URL that may not parse.
    static func masked(_ text: String) -> String {
        guard let scheme = text.range(of: "://") else { return text }
        let rest = text[scheme.upperBound...]
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return text }
        guard let colon = rest[..<at].firstIndex(of: ":") else { return text }
        return String(text[..<rest.index(after: colon)]) + "****" + text[at...]
    }

    static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(Self.hexValue), let low = iterator.next().flatMap(Self.hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    static func percentEncoded(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in text.utf8 {
            let plain =
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || "-._~".utf8.contains(byte)
            if plain {
                out.append(byte)
            } else {
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
