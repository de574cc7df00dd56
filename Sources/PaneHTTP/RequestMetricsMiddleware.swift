import Dispatch
import Hummingbird
import Metrics
import Synchronization

/// Records each request's count, duration and errors under the labels of Hummingbird's
/// `MetricsMiddleware` (which `PaneMetricsFactory` exports as `pane_http_*`), but when the
/// handler returns its response rather than after the body is written: Hummingbird's wraps every
/// response body in a post-write closure, which cost a spoke a third of its point-read rate
/// (docs/benchmarks.md, "the HTTP metrics middleware"). The duration is therefore the time to the
/// answer, not to its last byte on the wire; for Pane's small bodies the two differ little.
public struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let cache = RequestMetricsCache()

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let active = cache.active(request.method)
        active.increment()
        defer { active.decrement() }
        do {
            let response = try await next(request, context)
            let metrics = cache.endpoint(context.endpointPath ?? "Unknown", request.method, response.status)
            metrics.counter.increment()
            metrics.timer.recordNanoseconds(DispatchTime.now().uptimeNanoseconds - start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            let metrics = cache.endpoint(context.endpointPath ?? "NotFound", request.method, status)
            metrics.counter.increment()
            metrics.errors.increment()
            throw error
        }
    }
}

/// The metric handles of ``RequestMetricsMiddleware``, made once per route, method and status.
final class RequestMetricsCache: Sendable {
    struct Key: Hashable {
        let route: String
        let method: HTTPRequest.Method
        let status: HTTPResponse.Status
    }

    struct Endpoint: Sendable {
        let counter: Counter
        let timer: Metrics.Timer
        let errors: Counter
    }

    private let endpoints = Mutex<[Key: Endpoint]>([:])
    private let meters = Mutex<[HTTPRequest.Method: Meter]>([:])

    func active(_ method: HTTPRequest.Method) -> Meter {
        meters.withLock { meters in
            if let meter = meters[method] { return meter }
            let meter = Meter(label: "http.server.active_requests", dimensions: [("http.request.method", method.description)])
            meters[method] = meter
            return meter
        }
    }

    func endpoint(_ route: String, _ method: HTTPRequest.Method, _ status: HTTPResponse.Status) -> Endpoint {
        let key = Key(route: route, method: method, status: status)
        return endpoints.withLock { endpoints in
            if let endpoint = endpoints[key] { return endpoint }
            let labels = [
                ("http.route", route), ("http.request.method", method.description), ("http.response.status_code", status.code.description),
            ]
            let endpoint = Endpoint(
                counter: Counter(label: "hb.requests", dimensions: labels),
                timer: Metrics.Timer(label: "http.server.request.duration", dimensions: labels, preferredDisplayUnit: .seconds),
                errors: Counter(
                    label: "hb.request.errors",
                    dimensions: [
                        ("http.route", route), ("http.request.method", method.description), ("error.type", status.code.description),
                    ]))
            endpoints[key] = endpoint
            return endpoint
        }
    }
}
