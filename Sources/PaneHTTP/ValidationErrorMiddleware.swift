import Hummingbird
import PaneCore

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
