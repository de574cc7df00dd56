import PaneCore
import PaneRedis
import PaneRuntime

/// The check of a hub's or spoke's Redis logins at start (issue 10, item 2).
///
/// A server that refuses the login (a wrong password, an unknown or disabled user, or a password
/// it wants and was not given) is a configuration error: the process refuses to start (exit 2)
/// with a message naming the server and the user, never the password. A server that cannot be
/// reached is not an error here: the loops retry it. Later, once running, a refused login on a
/// reconnect is retried with backoff like any Redis error and logged, so a password rotated in
/// the wrong order heals when it is fixed (docs/operations.md).
public enum RedisLoginCheck {
    /// The refusal for the first of `endpoints` that refuses the login, or nil.
    public static func atStart(endpoints: [RedisEndpoint]) async -> ValidationError? {
        let distinct = Array(Set(endpoints)).sorted { $0.description < $1.description }
        return (try? await BlockingThread.value(name: "pane-login") { () -> ValidationError? in
            for endpoint in distinct {
                if let refusal = refusal(endpoint) { return refusal }
            }
            return nil
        }) ?? nil
    }

    /// Connects once and sends `PING`: the refusal, if the server refused the login.
    public static func refusal(_ endpoint: RedisEndpoint) -> ValidationError? {
        do {
            let conn = try RedisConnection(endpoint: endpoint, connectTimeoutMs: 1_000, readTimeoutMs: 2_000)
            defer { conn.close() }
            try conn.ping()
            return nil
        } catch where error.kind == .auth {
            return ValidationError(
                input: "redis \(endpoint)", value: endpoint.userName,
                reason: "\(error.message); check the user and the password (redis://USER:PASSWORD@… or redis.passwordFile)")
        } catch where error.kind == .server && error.message.hasPrefix("NOAUTH") {
            return ValidationError(
                input: "redis \(endpoint)", value: endpoint.userName,
                reason: "the server asks for a password and none was given: redis://USER:PASSWORD@… or redis.passwordFile")
        } catch {
            return nil
        }
    }
}
