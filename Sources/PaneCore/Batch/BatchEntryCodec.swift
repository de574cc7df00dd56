/// The body of a `batch` stream entry: one region's share of a batch write, applied by a replica
/// in one transaction, so its readers see all of it or none of it.
///
/// Format 1, bytes (lengths in decimal):
///
///     1 <count>\n
///     put <version> <id length> <body length>\n<id><body>\n
///     del <version> <id length> 0\n<id>\n
///     …
///
/// Lengths make the body binary-safe without escaping; the first line's `1` is the format, so a
/// later format is refused by name rather than misread. The entry's `ctx` is the first
/// operation's id and its `ver` the highest version among the operations (what a tool that
/// reads only those fields, such as `pane admin hub restore`, needs); decoding checks both.
/// The entry's `sum` covers this body like any other (``Checksum``).
public enum BatchEntryCodec {
    /// The format this hub writes, and the only one this replica reads.
    public static let format = 1
    /// The largest batch body a replica accepts: 1,000 operations of the largest body
    /// ``BodyRules`` allows by default would not fit, so the hub's batch limit
    /// (`http.batchMaxBytes`) is capped below it.
    public static let maxBytes = 64 << 20

    /// The body of an entry carrying `operations` (each with its new version).
    public static func encode(_ operations: [(op: ContextOp, id: ContextID, version: Int64, body: [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(operations.reduce(16) { $0 + $1.id.value.utf8.count + $1.body.count + 40 })
        out += "\(format) \(operations.count)\n".utf8
        for operation in operations {
            let body = operation.op == .del ? [] : operation.body
            out += "\(operation.op.rawValue) \(operation.version) \(operation.id.value.utf8.count) \(body.count)\n".utf8
            out += operation.id.value.utf8
            out += body
            out.append(0x0A)
        }
        return out
    }

    /// Decodes and validates a batch entry's body into its operations, as updates sharing the
    /// entry's `seq`, time and replay marker: each id once, `put` bodies checked with `rules`,
    /// `del` bodies empty, versions positive; `ctx` and `ver` must match the operations.
    public static func decode(
        _ body: [UInt8], entryID: ContextID, entryVersion: Int64, seq: UInt64, hubTimeUs: Int64, replay: Bool, rules: BodyRules
    ) throws(EntryError) -> [ContextUpdate] {
        let operations = try self.operations(body)
        var updates: [ContextUpdate] = []
        updates.reserveCapacity(operations.count)
        for (index, operation) in operations.enumerated() where operation.op == .put {
            if let problem = rules.problem(with: operation.body) {
                throw EntryError(
                    operation.body.count > rules.maxBytes ? .bodyTooLarge : .badBody, field: StreamEntryCodec.Field.body,
                    detail: "operation \(index): \(problem)")
            }
        }
        guard operations.first?.id == entryID else { throw bad("the entry's 'ctx' is not its first operation's id") }
        let highest = operations.map(\.version).max() ?? 0
        guard highest == entryVersion else { throw bad("the entry's 'ver' (\(entryVersion)) is not its highest version (\(highest))") }
        for operation in operations {
            updates.append(
                ContextUpdate(
                    seq: seq, id: operation.id, version: operation.version, op: operation.op, body: operation.body, hubTimeUs: hubTimeUs,
                    replay: replay))
        }
        return updates
    }

    /// The context ids of a batch body, in order; nil when it is not one (`pane admin dlq
    /// replay` republishes each of them).
    public static func contextIDs(in body: [UInt8]) -> [ContextID]? {
        try? operations(body).map(\.id)
    }

    private static func bad(_ detail: String) -> EntryError { EntryError(.badBatch, field: StreamEntryCodec.Field.body, detail: detail) }

    /// The operations of a batch body, checked for form: format, count, lengths, ids (each once),
    /// ops, versions, empty `del` bodies. Bodies are not checked here.
    static func operations(_ body: [UInt8]) throws(EntryError) -> [(op: ContextOp, version: Int64, id: ContextID, body: [UInt8])] {
        guard body.count <= maxBytes else { throw bad("a batch body is \(body.count) bytes, over the limit of \(maxBytes)") }
        var reader = Reader(bytes: body)
        guard let header = reader.line(), header.count == 2 else { throw bad("the first line is not '<format> <count>'") }
        guard header[0] == Array("\(format)".utf8) else {
            throw bad("batch format '\(String(decoding: header[0].prefix(20), as: UTF8.self))' is not \(format)")
        }
        guard let count = StreamEntryCodec.integer(header[1]), (1...Int64(BatchRequest.maxOperations)).contains(count) else {
            throw bad("the operation count is not an integer from 1 to \(BatchRequest.maxOperations)")
        }
        var operations: [(op: ContextOp, version: Int64, id: ContextID, body: [UInt8])] = []
        operations.reserveCapacity(Int(count))
        var seen = Set<String>()
        for index in 0..<Int(count) {
            guard let fields = reader.line(), fields.count == 4 else {
                throw bad("operation \(index): the line is not '<op> <version> <id length> <body length>'")
            }
            guard let op = StreamEntryCodec.op(fields[0]), op == .put || op == .del else {
                throw bad("operation \(index): op '\(String(decoding: fields[0].prefix(20), as: UTF8.self))' is not 'put' or 'del'")
            }
            guard let version = StreamEntryCodec.integer(fields[1]), version > 0 else {
                throw bad("operation \(index): the version is not a positive integer")
            }
            guard let idLength = StreamEntryCodec.integer(fields[2]), let bodyLength = StreamEntryCodec.integer(fields[3]),
                (1...Int64(ContextID.maxLength)).contains(idLength), bodyLength >= 0,
                let idBytes = reader.take(Int(idLength)), let opBody = reader.take(Int(bodyLength)), reader.take(1) == [0x0A]
            else {
                throw bad("operation \(index): the lengths do not match the bytes that follow")
            }
            let id: ContextID
            do { id = try ContextID(String(decoding: idBytes, as: UTF8.self)) } catch { throw bad("operation \(index): \(error.description)") }
            guard seen.insert(id.value).inserted else { throw bad("operation \(index): context '\(id)' appears twice") }
            if op == .del && !opBody.isEmpty {
                throw bad("operation \(index): a 'del' carries an empty body, got \(opBody.count) bytes")
            }
            operations.append((op, version, id, opBody))
        }
        guard reader.atEnd else { throw bad("unexpected bytes after the \(count) operations") }
        return operations
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        var atEnd: Bool { index == bytes.count }

        /// The space-separated words of the next line (at most 80 bytes), or nil.
        mutating func line() -> [[UInt8]]? {
            let limit = min(bytes.count, index + 80)
            guard let end = bytes[index..<limit].firstIndex(of: 0x0A) else { return nil }
            let words = bytes[index..<end].split(separator: 0x20, omittingEmptySubsequences: false).map(Array.init)
            index = end + 1
            return words
        }

        mutating func take(_ count: Int) -> [UInt8]? {
            guard count <= bytes.count - index else { return nil }
            defer { index += count }
            return Array(bytes[index..<(index + count)])
        }
    }
}
