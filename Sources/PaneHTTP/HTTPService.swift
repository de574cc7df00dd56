import Hummingbird
import NIOCore
import Logging
import ServiceLifecycle

/// A process's HTTP server (Hummingbird), as a `Service`. When the server cannot start (the
/// port is taken, the address is not local, the host is unknown) it throws a ``ListenError``
/// carrying the address, so the process can say what it could not listen on. Cancelled by its
/// `ServiceGroup`, it stops at once.
public struct HTTPService: Service, CustomStringConvertible {
    public let host: String
    public let port: Int
    private let application: any Service

    /// - Parameter idleTimeoutMs: a connection that sends nothing for this long is closed when no
    ///   request is in progress on it (an idle keep-alive connection) or while its request is still
    ///   being read (half-sent headers, a body that stops): a slow client cannot hold a connection.
    ///   A request being answered (a blocking query that waits) is not cut. `nil`: no timeout.
    public init(router: Router<BasicRequestContext>, host: String, port: Int, serverName: String, idleTimeoutMs: Int? = nil, logger: Logger) {
        self.host = host
        self.port = port
        self.application = Application(
            router: router, server: .http1(configuration: .init(idleTimeout: idleTimeoutMs.map { TimeAmount.milliseconds(Int64($0)) })),
            configuration: .init(address: .hostname(host, port: port), serverName: serverName), logger: logger)
    }

    public var description: String { "http \(host):\(port)" }

    public func run() async throws {
        do {
            try await application.run()
        } catch where !(error is CancellationError) {
            throw ListenError(host: host, port: port, underlying: error)
        }
    }
}

/// The HTTP server could not start on `host:port`; `underlying` is NIO's error (`IOError` with
/// `EADDRINUSE` for a port another process holds).
public struct ListenError: Error, CustomStringConvertible {
    public let host: String
    public let port: Int
    public let underlying: any Error

    public init(host: String, port: Int, underlying: any Error) {
        self.host = host
        self.port = port
        self.underlying = underlying
    }

    /// Terse, for logs; `FailureMessage` (PaneApp) words the line the process prints.
    public var description: String { "ListenError(\(host):\(port)): \(underlying)" }
}
