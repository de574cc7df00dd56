import Foundation
import HTTPTypes
import Hummingbird
import PaneCore

/// Small pieces both HTTP APIs share: JSON responses, error bodies, id parsing.
public enum PaneHTTP {
    /// A JSON response from raw bytes.
    public static func json(_ bytes: [UInt8], status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        jsonAnswer(ByteBuffer(bytes: bytes), status: status, headers: headers).response
    }

    /// A JSON response from text, written straight into the response buffer.
    public static func json(_ text: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        jsonAnswer(ByteBuffer(string: text), status: status, headers: headers).response
    }

    /// A JSON response whose body was written into `buffer`.
    public static func json(_ buffer: ByteBuffer, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        jsonAnswer(buffer, status: status, headers: headers).response
    }

    /// A JSON answer whose body was written into `buffer`, for both ways of answering (a
    /// Hummingbird ``Response`` or a ``LoopRoute``'s answer on the event loop).
    public static func jsonAnswer(_ buffer: ByteBuffer, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Answer {
        Answer(status: status, headers: jsonFields(headers), body: buffer)
    }

    /// A JSON answer from text.
    public static func jsonAnswer(_ text: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Answer {
        jsonAnswer(ByteBuffer(string: text), status: status, headers: headers)
    }

    /// `Content-Type: application/json`, built once: most responses carry no other header.
    private static let jsonOnly: HTTPFields = [.contentType: "application/json"]

    private static func jsonFields(_ headers: HTTPFields) -> HTTPFields {
        if headers.isEmpty { return jsonOnly }
        var fields = headers
        fields[.contentType] = "application/json"
        return fields
    }

    /// `{"error": message}` with `status`, as an ``Answer``.
    public static func errorAnswer(_ status: HTTPResponse.Status, _ message: String) -> Answer {
        jsonAnswer("{\"error\":\(JSONText.quote(message))}", status: status)
    }

    /// `{"error": message}` with `status`.
    public static func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
        errorAnswer(status, message).response
    }

    /// The `:id` path parameter, percent-decoded and validated.
    public static func contextID(_ context: some RequestContext) throws(ValidationError) -> ContextID {
        try contextID(raw: context.parameters["id"] ?? "")
    }

    /// A context id as it came in a path segment, percent-decoded and validated.
    public static func contextID(raw: Substring) throws(ValidationError) -> ContextID {
        guard let decoded = PercentDecoding.decode(String(raw)) else {
            throw ValidationError(input: "context id", value: String(raw), reason: "bad percent-encoding")
        }
        return try ContextID(decoded)
    }

    /// The first value of query parameter `name`. Hummingbird has already percent-decoded it
    /// (a value with bad escapes stays as sent); decoding again would turn `p%2541` into `pA`.
    public static func query(_ request: Request, _ name: String) -> String? {
        request.uri.queryParameters.get(name)
    }
}

/// An answer with its whole body: status, headers and bytes. ``response`` is the Hummingbird
/// response with the same head (`Content-Length` last, as `Response` adds it) and body.
public struct Answer: Sendable {
    public var status: HTTPResponse.Status
    public var headers: HTTPFields
    public var body: ByteBuffer
    /// A body written over time after the head instead of ``body`` (chunked, no
    /// `Content-Length`): on the event loop by ``LoopRouteHandler``.
    public var stream: (any LoopStream)?

    /// `Content-Length` is added after `headers` when they do not have one, as `Response` does.
    public init(status: HTTPResponse.Status, headers: HTTPFields, body: ByteBuffer) {
        self.status = status
        self.headers = headers
        self.body = body
        if !self.headers.contains(.contentLength) { self.headers[.contentLength] = String(body.readableBytes) }
    }

    /// An answer whose body is `stream`, sent chunked.
    public init(status: HTTPResponse.Status, headers: HTTPFields, stream: any LoopStream) {
        self.status = status
        self.headers = headers
        self.body = ByteBuffer()
        self.stream = stream
    }

    public var response: Response {
        if let stream { return Response(status: status, headers: headers, body: TaskStreamSink.body(stream)) }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: body))
    }
}

extension ByteBuffer {
    /// `text` as a JSON string literal, as ``PaneCore/JSONText/quote(_:)`` writes it, without an
    /// intermediate string when it needs no escape.
    public mutating func writeJSONString(_ text: String) {
        guard JSONText.isPlain(text) else {
            writeString(JSONText.quote(text))
            return
        }
        writeStaticString("\"")
        writeString(text)
        writeStaticString("\"")
    }
}
