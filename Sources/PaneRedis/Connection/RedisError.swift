import PaneRuntime

/// A failure talking to Redis. Keeps what hiredis or the server said, and the command.
public struct RedisError: Error, Sendable, CustomStringConvertible {
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String { case connect, io, timeout, server, protocolViolation, badURL, auth }
        fileprivate let base: Base
        /// The TCP connection could not be made.
        public static let connect = Kind(base: .connect)
        /// The connection broke or hiredis failed; the connection is unusable.
        public static let io = Kind(base: .io)
        /// A read or write timed out; the connection is unusable.
        public static let timeout = Kind(base: .timeout)
        /// The server answered with an error reply; the connection is fine.
        public static let server = Kind(base: .server)
        /// The reply did not have the shape the command promises.
        public static let protocolViolation = Kind(base: .protocolViolation)
        /// The server refused the login (`AUTH`: a wrong password, an unknown or disabled user),
        /// or asked for one that was not given (`NOAUTH`). The connection is closed.
        public static let auth = Kind(base: .auth)
        /// A `redis://` URL could not be parsed.
        public static let badURL = Kind(base: .badURL)
        public var description: String { base.rawValue }
    }

    public let kind: Kind
    /// hiredis's `errstr` or the server's error reply.
    public let message: String
    /// The command name (first argument), when one was running.
    public let command: String?

    public init(_ kind: Kind, _ message: String, command: String? = nil) {
        self.kind = kind
        self.message = message
        self.command = command
    }

    /// Whether the connection must be dropped and re-made.
    public var breaksConnection: Bool { kind == .io || kind == .timeout || kind == .connect || kind == .auth }

    public var description: String {
        if let command { return "redis \(kind) error in \(command): \(message)" }
        return "redis \(kind) error: \(message)"
    }
}

extension RedisError: ClassifiedError {
    /// Transient: a loop retries Redis errors with backoff for as long as they last (Redis may
    /// come back, a failover may finish, an operator may fix an ACL).
    public var failureKind: FailureKind { .transient }
}
