/// Commands queued to run atomically: `MULTI`, the commands, `EXEC`, written in one pipeline.
///
/// Queue commands on ``commands`` with the pipelined methods of the families, then run them
/// with ``RedisConnection/exec(_:)``:
///
/// ```swift
/// var transaction = RedisTransaction()
/// transaction.commands.xadd(key: keys.deadLetters, fields: fields)
/// transaction.commands.xack(key: keys.updates, group: group, ids: [id])
/// let results = try connection.exec(transaction)
/// ```
/// https://redis.io/docs/latest/develop/interact/transactions/
public struct RedisTransaction: Sendable {
    /// `MULTI` and the commands queued after it; `EXEC` is added when the transaction runs.
    public var commands: RedisCommandBuffer

    public init(reservingCapacity capacity: Int = 0) {
        commands = RedisCommandBuffer(reservingCapacity: capacity)
        commands.command("MULTI", arguments: 0)
    }

    /// How many commands are queued.
    public var count: Int { commands.count - 1 }
}

extension RedisConnection {
    /// Runs a transaction: writes `MULTI`, its commands and `EXEC` at once, then reads the
    /// replies. Returns the queued commands' results, in order. Throws ``RedisError/Kind/server``
    /// when a command was refused while queued (EXECABORT: nothing ran) and when one failed
    /// while running (Redis has no rollback: the others did run).
    /// https://redis.io/docs/latest/commands/exec/
    @discardableResult
    public func exec(_ transaction: RedisTransaction) throws(RedisError) -> [RESPValue] {
        var buffer = transaction.commands
        buffer.command("EXEC", arguments: 0)
        let replies = try pipeline(buffer)
        guard let exec = replies.last else { throw RedisError(.protocolViolation, "no EXEC reply", command: "EXEC") }
        if case .error(let message) = exec {
            let cause = replies.dropLast().first(where: \.isError).map { " (\($0))" } ?? ""
            throw RedisError(.server, message + cause, command: "EXEC")
        }
        guard let results = exec.array else {
            throw RedisError(.server, "transaction aborted: EXEC answered \(exec)", command: "EXEC")
        }
        guard results.count == transaction.count else {
            throw RedisError(.protocolViolation, "EXEC returned \(results.count) results for \(transaction.count) commands", command: "EXEC")
        }
        if let index = results.firstIndex(where: \.isError) {
            throw RedisError(.server, "command \(index + 1) of \(results.count) failed: \(results[index])", command: "EXEC")
        }
        return results
    }

    /// Runs the commands `queue` appends as one transaction (see ``exec(_:)``).
    /// https://redis.io/docs/latest/commands/multi/
    @discardableResult
    public func transaction(_ queue: (inout RedisCommandBuffer) -> Void) throws(RedisError) -> [RESPValue] {
        var transaction = RedisTransaction()
        queue(&transaction.commands)
        return try exec(transaction)
    }
}
