import Foundation
import NIOCore
import PaneHTTP
import PaneRuntime
import PaneStore

#if canImport(Glibc)
    import Glibc
#endif

/// Turns the error that ended `pane hub`, `pane spoke` or `pane dev` into the one line the
/// process prints on stderr before it exits 1. It names what failed and the value at fault:
///
/// - `cannot listen on 127.0.0.1:7555: address already in use` (``ListenError``);
/// - `cannot open the hub database /no/such/dir/hub.sqlite: unable to open database file`
///   (``StoreOpenError``);
/// - `the publisher stopped: <reason>` (``LoopFailure``, with the loop's last error and, when
///   it retried, how many failures in a row).
public enum FailureMessage {
    /// The line for `error`, without the `pane: ` prefix.
    public static func line(for error: any Error) -> String {
        switch error {
        case let error as ListenError:
            return "cannot listen on \(address(host: error.host, port: error.port)): \(reason(error.underlying))"
        case let error as StoreOpenError:
            return "cannot open the \(error.database) database \(error.path): \(reason(error.underlying))"
        case let error as LoopFailure:
            return "the \(error.loop) stopped: \(reason(error.underlying))"
        default:
            return reason(error)
        }
    }

    /// What went wrong underneath, in the words of the layer that knows best: the system's for
    /// a socket error (`address already in use`), SQLite's for a database error.
    static func reason(_ error: any Error) -> String {
        switch error {
        case let error as RetriesExhausted:
            let last = reason(error.underlying)
            return error.failures > 1 ? "\(last) (\(error.failures) failures in a row)" : last
        case let error as IOError:
            return systemMessage(errno: error.errnoCode)
        case let error as SocketAddressError.UnknownHost:
            return "unknown host \(error.host)"
        default:
            return StoreErrors.reason(error) ?? "\(error)"
        }
    }

    /// `strerror`'s text, lower-cased at the start as in the rest of the line.
    static func systemMessage(errno code: CInt) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        let message = String(cString: text)
        return message.prefix(1).lowercased() + message.dropFirst()
    }

    /// `host:port`, with an IPv6 host in brackets.
    static func address(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
