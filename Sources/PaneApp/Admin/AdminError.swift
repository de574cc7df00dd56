import PaneCore
import PaneRedis

/// What an admin command could not do, worded for the operator who typed it.
///
/// ``exitCode`` is 2 when the command named something that does not exist or is malformed (a
/// region without a stream, a bad id or duration), and 1 when a working command failed (Redis
/// or the hub unreachable, a timeout).
public struct AdminError: Error, Sendable, CustomStringConvertible {
    private enum Kind: Sendable {
        case badInput
        case unreachable
        case refused
        case timedOut
    }

    private let kind: Kind
    public let description: String

    private init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    /// The process exit code for this failure.
    public var exitCode: Int32 { kind == .badInput ? 2 : 1 }

    public static func redisUnreachable(_ redis: RedisEndpoint, _ message: String) -> AdminError {
        AdminError(.unreachable, "cannot reach Redis at \(redis): \(message)")
    }

    public static func unknownRegion(_ region: Region, redis: RedisEndpoint, existing: [Region]) -> AdminError {
        let known = existing.isEmpty ? "no region has a stream there" : "regions with a stream: \(existing.map(\.name).joined(separator: ", "))"
        return AdminError(.badInput, "region '\(region.name)' has no stream (\(region.keys.updates)) in \(redis); \(known)")
    }

    public static func noDeadLetter(_ id: String, in key: StreamKey) -> AdminError {
        AdminError(.badInput, "no dead letter \(id) in \(key)")
    }

    public static func badEntryID(_ id: String) -> AdminError {
        AdminError(.badInput, "'\(id)' is not a stream entry id (<ms>-<n>, as `pane admin dlq list` shows)")
    }

    public static func badDuration(_ text: String) -> AdminError {
        AdminError(.badInput, "'\(text)' is not a duration: use a number and s, m, h or d, for example 12h")
    }

    public static let missingSelector = AdminError(.badInput, "name a dead letter with --id or an age with --older-than")

    public static func hubUnreachable(host: String, port: Int, _ error: any Error) -> AdminError {
        AdminError(.unreachable, "cannot reach the hub at \(host):\(port): \(error)")
    }

    public static func hubRefused(status: Int, _ text: String) -> AdminError {
        let hint =
            status == 401 ? "; give an admin token with --token-file or PANE_TOKEN_FILE"
            : status == 403 ? "; the replay needs an admin token" : ""
        return AdminError(.refused, "the hub refused the replay (\(status)): \(text)\(hint)")
    }

    public static func noLiveReplica(_ region: Region) -> AdminError {
        AdminError(.refused, "no replica of \(region.name) sent a heartbeat in the last minute; nothing to resync")
    }

    public static func unknownReplica(_ replica: String, region: Region) -> AdminError {
        AdminError(
            .badInput,
            "replica '\(replica)' has never sent a heartbeat to \(region.keys.replicas); is a `pane spoke --region \(region.name) --replica \(replica)` running?"
        )
    }

    /// A backup or hub file that cannot be used as named.
    public static func badFile(_ message: String) -> AdminError {
        AdminError(.badInput, message)
    }

    public static func timedOut(seconds: Int, waitingFor replicas: [String]) -> AdminError {
        AdminError(.timedOut, "timed out after \(seconds) s waiting for \(replicas.joined(separator: ", "))")
    }
}
