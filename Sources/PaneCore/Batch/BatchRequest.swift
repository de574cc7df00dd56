/// Parses and validates the body of `POST /v1/batch`: a JSON list of operations,
///
///     [{"op":"put","id":"user:1","body":{…},"regions":["eu"]}, {"op":"delete","id":"user:2"}]
///
/// `op` is `put` or `delete` (`del` is accepted too); `id` a context id; `body` (for `put`
/// only) any JSON value, kept byte for byte as sent and checked with the hub's ``BodyRules``;
/// `regions` (optional) a non-empty list of region names without repeats. Unknown fields are
/// refused, so a misspelt `regions` does not silently go to every region. At most
/// ``maxOperations`` operations, at least one, and each context at most once: a batch that
/// names one id twice is refused (naming the second), so the outcome never depends on order.
///
/// Every error names the operation's index (``BatchError``); the whole batch is refused.
public enum BatchRequest {
    /// The most operations one batch may hold (issue 13).
    public static let maxOperations = 1_000

    public static func parse(_ bytes: [UInt8], rules: BodyRules) throws(BatchError) -> [BatchOperation] {
        guard (try? UTF8Span(validating: bytes.span)) != nil else {
            throw BatchError(index: nil, reason: "the body is not valid UTF-8")
        }
        let result: Result<[BatchOperation], BatchError> = bytes.withUnsafeBufferPointer { buffer in
            var parser = Parser(scanner: JSONValidator.Scanner(bytes: buffer), rules: rules)
            do throws(BatchError) { return .success(try parser.list()) } catch { return .failure(error) }
        }
        return try result.get()
    }

    private struct Parser {
        var scanner: JSONValidator.Scanner
        let rules: BodyRules
        var index: Int? = nil

        func failure(_ reason: String) -> BatchError { BatchError(index: index, reason: reason) }

        mutating func list() throws(BatchError) -> [BatchOperation] {
            scanner.skipWhitespace()
            guard scanner.current == UInt8(ascii: "[") else {
                throw failure("expected a JSON list of operations: [{\"op\":\"put\",\"id\":…,\"body\":…}, {\"op\":\"delete\",\"id\":…}]")
            }
            scanner.index += 1
            scanner.skipWhitespace()
            var operations: [BatchOperation] = []
            var seen = Set<ContextID>()
            if scanner.current != UInt8(ascii: "]") {
                while true {
                    guard operations.count < BatchRequest.maxOperations else {
                        index = nil
                        throw failure("a batch holds at most \(BatchRequest.maxOperations) operations")
                    }
                    index = operations.count
                    let operation = try self.operation()
                    guard seen.insert(operation.id).inserted else {
                        throw failure("context '\(operation.id)' appears earlier in the batch; a batch names each context once")
                    }
                    operations.append(operation)
                    guard try more(closedBy: "]", "expected ',' or ']' after the operation") else { break }
                }
            }
            scanner.index += 1
            index = nil
            scanner.skipWhitespace()
            guard scanner.index == scanner.bytes.count else { throw failure("unexpected text after the list") }
            guard !operations.isEmpty else { throw failure("the list is empty; a batch holds 1 to \(BatchRequest.maxOperations) operations") }
            return operations
        }

        mutating func operation() throws(BatchError) -> BatchOperation {
            guard scanner.current == UInt8(ascii: "{") else { throw failure("expected an object {\"op\":…,\"id\":…}") }
            scanner.index += 1
            scanner.skipWhitespace()
            var op: String?
            var id: String?
            var body: [UInt8]?
            var regions: [String]?
            if scanner.current != UInt8(ascii: "}") {
                while true {
                    guard scanner.current == UInt8(ascii: "\"") else { throw failure("expected a field name") }
                    let name = try string("field name")
                    scanner.skipWhitespace()
                    guard scanner.current == UInt8(ascii: ":") else { throw failure("expected ':' after field '\(name)'") }
                    scanner.index += 1
                    scanner.skipWhitespace()
                    switch name {
                    case "op":
                        guard op == nil else { throw failure("field 'op' appears more than once") }
                        op = try string("'op'")
                    case "id":
                        guard id == nil else { throw failure("field 'id' appears more than once") }
                        id = try string("'id'")
                    case "body":
                        guard body == nil else { throw failure("field 'body' appears more than once") }
                        let start = scanner.index
                        guard scanner.current != nil, scanner.value(depth: 0) else { throw failure("field 'body' is not valid JSON") }
                        body = Array(scanner.bytes[start..<scanner.index])
                    case "regions":
                        guard regions == nil else { throw failure("field 'regions' appears more than once") }
                        regions = try stringList("regions")
                    default:
                        throw failure("unknown field '\(name.prefix(40))'; an operation has 'op', 'id', 'body' and 'regions'")
                    }
                    guard try more(closedBy: "}", "expected ',' or '}' in the operation") else { break }
                }
            }
            scanner.index += 1
            return try validated(op: op, id: id, body: body, regions: regions)
        }

        func validated(op: String?, id: String?, body: [UInt8]?, regions: [String]?) throws(BatchError) -> BatchOperation {
            guard let op else { throw failure("field 'op' is missing ('put' or 'delete')") }
            guard let id else { throw failure("field 'id' is missing") }
            let contextID: ContextID
            do { contextID = try ContextID(id) } catch { throw failure(error.description) }
            var targets: [Region]?
            if let regions {
                guard !regions.isEmpty else { throw failure("'regions' is empty; name at least one region, or leave it out for all") }
                var list: [Region] = []
                for name in regions {
                    let region: Region
                    do { region = try Region(name) } catch { throw failure(error.description) }
                    guard !list.contains(region) else { throw failure("region '\(region)' is listed twice") }
                    list.append(region)
                }
                targets = list
            }
            switch op {
            case "put":
                guard let body else { throw failure("a 'put' needs a 'body' (a JSON value)") }
                // The scanner read `body` as one JSON value of a body already checked as UTF-8:
                // only its size is left to check (not a second scan of its bytes).
                if let problem = rules.sizeProblem(body.count) { throw failure(problem) }
                return BatchOperation(op: .put, id: contextID, body: body, regions: targets)
            case "delete", "del":
                guard body == nil else { throw failure("a 'delete' has no 'body'") }
                return BatchOperation(op: .del, id: contextID, body: [], regions: targets)
            default:
                throw failure("op '\(op.prefix(40))' is not 'put' or 'delete'")
            }
        }

        /// A JSON string, unescaped. Ids and region names are visible ASCII, so a `\u` escape
        /// outside ASCII can only make a bad one: it is refused here.
        mutating func string(_ what: String) throws(BatchError) -> String {
            guard scanner.current == UInt8(ascii: "\"") else { throw failure("\(what) is not a string") }
            let start = scanner.index
            guard scanner.string() else { throw failure("\(what) is not a valid JSON string") }
            let inner = scanner.bytes[(start + 1)..<(scanner.index - 1)]
            guard inner.contains(UInt8(ascii: "\\")) else { return String(decoding: inner, as: UTF8.self) }
            var out: [UInt8] = []
            var i = inner.startIndex
            while i < inner.endIndex {
                let byte = inner[i]
                guard byte == UInt8(ascii: "\\") else {
                    out.append(byte)
                    i += 1
                    continue
                }
                let escaped = inner[i + 1]
                switch escaped {
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    let hex = String(decoding: inner[(i + 2)..<(i + 6)], as: UTF8.self)
                    guard let code = UInt8(hex, radix: 16), code < 0x80 else {
                        throw failure("\(what) holds '\\u\(hex)', a character outside ASCII")
                    }
                    out.append(code)
                    i += 4
                default: out.append(escaped)  // " \ /
                }
                i += 2
            }
            return String(decoding: out, as: UTF8.self)
        }

        /// After an item of a list or object: true when a ',' follows (consumed, with the space
        /// after it), false at `close` (left for the caller), else the error `problem`.
        mutating func more(closedBy close: Unicode.Scalar, _ problem: String) throws(BatchError) -> Bool {
            scanner.skipWhitespace()
            if scanner.current == UInt8(ascii: ",") {
                scanner.index += 1
                scanner.skipWhitespace()
                return true
            }
            guard scanner.current == UInt8(ascii: close) else { throw failure(problem) }
            return false
        }

        mutating func stringList(_ what: String) throws(BatchError) -> [String] {
            guard scanner.current == UInt8(ascii: "[") else { throw failure("'\(what)' is not a list of names") }
            scanner.index += 1
            scanner.skipWhitespace()
            var items: [String] = []
            if scanner.current == UInt8(ascii: "]") {
                scanner.index += 1
                return items
            }
            while true {
                guard items.count < 1_000 else { throw failure("'\(what)' names too many regions") }
                items.append(try string("an item of '\(what)'"))
                guard try more(closedBy: "]", "expected ',' or ']' in '\(what)'") else {
                    scanner.index += 1
                    return items
                }
            }
        }
    }
}
