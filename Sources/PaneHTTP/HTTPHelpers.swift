import Foundation
import HTTPTypes
import Hummingbird
import PaneCore

/// Small pieces both HTTP APIs share: JSON responses, error bodies, id parsing.
public enum PaneHTTP {
    /// A JSON response from raw bytes.
    public static func json(_ bytes: [UInt8], status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        Response(status: status, headers: jsonFields(headers), body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// A JSON response from text, written straight into the response buffer.
    public static func json(_ text: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        Response(status: status, headers: jsonFields(headers), body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// `Content-Type: application/json`, built once: most responses carry no other header.
    private static let jsonOnly: HTTPFields = [.contentType: "application/json"]

    private static func jsonFields(_ headers: HTTPFields) -> HTTPFields {
        if headers.isEmpty { return jsonOnly }
        var fields = headers
        fields[.contentType] = "application/json"
        return fields
    }

    /// `{"error": message}` with `status`.
    public static func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
        json("{\"error\":\(JSONText.quote(message))}", status: status)
    }

    /// The `:id` path parameter, percent-decoded and validated.
    public static func contextID(_ context: some RequestContext) throws(ValidationError) -> ContextID {
        let raw = context.parameters.get("id") ?? ""
        // Most ids carry no escapes: skip Foundation's decoding (and its copies) for them.
        if !raw.utf8.contains(UInt8(ascii: "%")) { return try ContextID(raw) }
        guard let decoded = raw.removingPercentEncoding else {
            throw ValidationError(input: "context id", value: raw, reason: "bad percent-encoding")
        }
        return try ContextID(decoded)
    }

    /// The first value of query parameter `name`. Hummingbird has already percent-decoded it
    /// (a value with bad escapes stays as sent); decoding again would turn `p%2541` into `pA`.
    public static func query(_ request: Request, _ name: String) -> String? {
        request.uri.queryParameters.get(name)
    }
}

/// Turns thrown ``ValidationError``s into 400 responses that name the input, and logs the rest.
public struct ValidationErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as ValidationError {
            return PaneHTTP.error(.badRequest, error.description)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            return PaneHTTP.error(.badRequest, "request body is over the size limit")
        }
    }
}

extension HTTPField.Name {
    /// The highest region seq the replica has applied.
    public static let paneReplicaSeq = pane("Replica-Seq")
    /// Milliseconds since the worker last read from the region stream, or `never`.
    public static let paneContactAge = pane("Contact-Age-Ms")
    /// Present (`1`) when a dead-lettered update may have left this context behind the hub.
    public static let paneStale = pane("Stale")

    /// `Pane-<suffix>`. The suffixes above are letters and dashes, always valid tokens, so the
    /// fallback is never taken; it exists only to avoid a force-unwrap.
    private static func pane(_ suffix: String) -> HTTPField.Name {
        HTTPField.Name("Pane-\(suffix)") ?? .server
    }
}
