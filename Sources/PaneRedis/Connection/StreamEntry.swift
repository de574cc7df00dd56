/// One stream entry as Redis returns it. `fields` is `nil` for a pending entry whose data was
/// deleted or trimmed away (XREADGROUP with id `0` reports those).
public struct StreamEntry: Sendable {
    public let id: String
    public let fields: [(String, [UInt8])]?

    public init(id: String, fields: [(String, [UInt8])]?) {
        self.id = id
        self.fields = fields
    }

    /// Parses `[[id, [f, v, ...]], ...]`.
    static func list(from reply: RESPValue, command: String) throws(RedisError) -> [StreamEntry] {
        guard let items = reply.array else {
            if reply.isNull { return [] }
            throw RedisError(.protocolViolation, "expected an array of entries", command: command)
        }
        var entries: [StreamEntry] = []
        entries.reserveCapacity(items.count)
        for item in items {
            guard let pair = item.array, pair.count == 2, let id = pair[0].string else {
                throw RedisError(.protocolViolation, "expected [id, fields]", command: command)
            }
            guard let flat = pair[1].array else {
                entries.append(StreamEntry(id: id, fields: nil))
                continue
            }
            var fields: [(String, [UInt8])] = []
            fields.reserveCapacity(flat.count / 2)
            var i = 0
            while i + 1 < flat.count {
                fields.append((flat[i].string ?? "", flat[i + 1].bytes ?? []))
                i += 2
            }
            entries.append(StreamEntry(id: id, fields: fields))
        }
        return entries
    }
}
