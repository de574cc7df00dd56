import HTTPTypes
import Hummingbird
import HummingbirdCore

/// Serves `HEAD` for every `GET` route (issue 10, item 4): the request is routed as `GET`, and
/// the answer keeps its status and headers (`Content-Length`, `ETag`, `Pane-…`) without its body.
///
/// The body is replaced by an empty one that finishes at once: a body that promised bytes and
/// never finished its writer kept the connection busy, and a SIGTERM then waited on it.
/// An error that has a response (`HTTPError`, Pane's validation errors) is answered the same way.
public struct HeadResponder<Base: HTTPResponder>: HTTPResponder where Base.Context: RequestContext {
    public typealias Context = Base.Context
    let base: Base

    public init(base: Base) {
        self.base = base
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        guard request.method == .head else { return try await base.respond(to: request, context: context) }
        var head = request.head
        head.method = .get
        let asGet = Request(head: head, body: request.body)
        do {
            return Self.withoutBody(try await base.respond(to: asGet, context: context))
        } catch let error as any HTTPResponseError {
            return Self.withoutBody(try error.response(from: request, context: context))
        }
    }

    static func withoutBody(_ response: Response) -> Response {
        var response = response
        let length = response.headers[.contentLength]
        response.body = ResponseBody()
        response.headers[.contentLength] = length
        return response
    }
}
