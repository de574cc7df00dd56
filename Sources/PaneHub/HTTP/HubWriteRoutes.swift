import HTTPTypes
import NIOCore
import PaneCore
import PaneHTTP
import PaneStore

/// The hub's write routes, `PUT` and `DELETE /v1/contexts/{id}` and `POST /v1/batch`, as
/// ``PaneHTTP/LoopRoute``s: answered on the connection's event loop, the answer written from the
/// group commit's callback (issue 13 item 3). The router has the same routes (odd spellings of the
/// paths), answered by the same code.
struct HubWriteRoutes {
    let store: HubStore
    let rules: BodyRules
    let batchMaxBytes: Int

    var all: [LoopRoute] { [put, delete, batch] }

    var put: LoopRoute {
        // Made once with the route, not per request.
        let overLimit = PaneHTTP.errorAnswer(
            .contentTooLarge, "invalid body: body is over the limit of \(rules.maxBytes) bytes (body.maxBytes)")
        return LoopRoute(method: .put, path: .segment(prefix: "/v1/contexts/")) { [store, rules] request in
            let id = try PaneHTTP.contextID(raw: request.segment)
            let regions = try Self.regionList(request)
            return LoopBody(limit: rules.maxBytes, overLimit: overLimit) { buffer, done in
                let body = Array(buffer.readableBytesView)
                let condition: WriteCondition?
                do {
                    if let problem = rules.problem(with: body) {
                        throw ValidationError(input: "body", value: String(decoding: body.prefix(60), as: UTF8.self), reason: problem)
                    }
                    condition = try Self.condition(request)
                } catch {
                    return done(.failure(error))
                }
                store.put(id: id, body: body, regions: regions, condition: condition) { result in
                    done(Self.answer(result.map { $0 }, id: id, store: store))
                }
            }
        }
    }

    var delete: LoopRoute {
        LoopRoute(method: .delete, path: .segment(prefix: "/v1/contexts/")) { [store] request in
            let id = try PaneHTTP.contextID(raw: request.segment)
            let regions = try Self.regionList(request)
            let condition = try Self.condition(request)
            return LoopBody(limit: nil) { _, done in
                store.delete(id: id, regions: regions, condition: condition) { result in
                    done(Self.answer(result, id: id, store: store))
                }
            }
        }
    }

    var batch: LoopRoute {
        LoopRoute(method: .post, path: .exact(Access.batchPath)) { [store, rules, batchMaxBytes] _ in
            let overLimit = PaneHTTP.errorAnswer(
                .contentTooLarge, "invalid batch: the body is over the limit of \(batchMaxBytes) bytes (http.batchMaxBytes)")
            return LoopBody(limit: batchMaxBytes, overLimit: overLimit) { buffer, done in
                let operations: [BatchOperation]
                do {
                    operations = try BatchRequest.parse(Array(buffer.readableBytesView), rules: rules)
                } catch {
                    return done(Self.batchAnswer(.failure(error), store: store))
                }
                store.batch(operations) { result in done(Self.batchAnswer(result, store: store)) }
            }
        }
    }

    private static func regionList(_ request: LoopRequest) throws(ValidationError) -> [Region]? {
        guard let text = request.query("regions") else { return nil }
        return try Region.list(text)
    }

    private static func condition(_ request: LoopRequest) throws(ValidationError) -> WriteCondition? {
        try WriteCondition.parse(ifMatch: request.headers[.ifMatch], ifNoneMatch: request.headers[.ifNoneMatch])
    }

    /// A put's or delete's answer: the write, `412` for a condition that did not hold, `404` for a
    /// delete of an unknown context; other errors as they are.
    private static func answer(_ result: Result<HubWrite?, any Error>, id: ContextID, store: HubStore) -> Result<Answer, any Error> {
        switch result {
        case .success(let write?):
            return .success(writeAnswer(write, store: store))
        case .success(nil):
            return .success(PaneHTTP.errorAnswer(.notFound, "context '\(id)' does not exist or is already deleted"))
        case .failure(let refusal as WritePreconditionFailed):
            return .success(preconditionFailed(refusal))
        case .failure(let error):
            return .failure(error)
        }
    }

    /// `{"id","version","index"}` and `Pane-Index`: the write's position token, which a reader
    /// hands to a spoke (`Pane-Min-Index`) to read its own write.
    private static func writeAnswer(_ write: HubWrite, store: HubStore) -> Answer {
        let index = store.position(of: write).encoded
        var body = ByteBuffer()
        body.reserveCapacity(write.id.value.utf8.count + index.utf8.count + 48)
        body.writeStaticString("{\"id\":")
        body.writeJSONString(write.id.value)
        body.writeStaticString(",\"version\":")
        body.writeString(String(write.version))
        body.writeStaticString(",\"index\":\"")
        body.writeString(index)
        body.writeStaticString("\"}")
        return PaneHTTP.jsonAnswer(body, headers: [.paneIndex: index])
    }

    /// `412`: the write's `If-Match` or `If-None-Match` did not hold; nothing was written. The
    /// body and `ETag` give the current version (0 when the context never existed).
    private static func preconditionFailed(_ refusal: WritePreconditionFailed) -> Answer {
        var headers = HTTPFields()
        if refusal.version > 0 && !refusal.deleted { headers[.eTag] = "\"\(refusal.version)\"" }
        return PaneHTTP.jsonAnswer(
            "{\"error\":\(JSONText.quote(refusal.description)),\"version\":\(refusal.version),\"deleted\":\(refusal.deleted)}",
            status: .preconditionFailed, headers: headers)
    }

    /// A batch's answer: each operation's version and the batch's position token; a refused
    /// batch (nothing written) names the operation at fault.
    private static func batchAnswer(_ result: Result<[HubWrite], any Error>, store: HubStore) -> Result<Answer, any Error> {
        switch result {
        case .success(let writes):
            let index = store.position(of: writes).encoded
            // Written straight into the answer's buffer, as a single write's answer is.
            var body = ByteBuffer()
            body.reserveCapacity(writes.reduce(index.utf8.count + 32) { $0 + $1.id.value.utf8.count + 40 })
            body.writeStaticString("{\"results\":[")
            for (offset, write) in writes.enumerated() {
                body.writeStaticString(offset > 0 ? ",{\"id\":" : "{\"id\":")
                body.writeJSONString(write.id.value)
                body.writeStaticString(",\"version\":")
                body.writeString(String(write.version))
                body.writeStaticString("}")
            }
            body.writeStaticString("],\"index\":\"")
            body.writeString(index)
            body.writeStaticString("\"}")
            return .success(PaneHTTP.jsonAnswer(body, headers: [.paneIndex: index]))
        case .failure(let error as BatchError):
            return .success(batchRefused(.badRequest, error.description, index: error.index))
        case .failure(let error as BatchMissingContext):
            return .success(batchRefused(.notFound, "invalid batch: \(error.description)", index: error.index))
        case .failure(let error):
            return .failure(error)
        }
    }

    /// A refused batch: nothing was written. `index` names the operation at fault (absent when
    /// the batch as a whole was wrong).
    private static func batchRefused(_ status: HTTPResponse.Status, _ message: String, index: Int?) -> Answer {
        let at = index.map { ",\"index\":\($0)" } ?? ""
        return PaneHTTP.jsonAnswer("{\"error\":\(JSONText.quote(message))\(at)}", status: status)
    }
}
