import Dispatch
import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTPTypes

/// Answers the requests of ``LoopRoutes`` on the connection's event loop and passes every other
/// request on to Hummingbird, keeping the answers in the order of the requests.
///
/// Sits after Hummingbird's `HTTPConnectionStateHandler` (which sees every request and answer, so
/// the idle timeout and a graceful shutdown's quiescing count these requests too) and before the
/// async channel of Hummingbird's connection task. The request guard (``ConnectionGuardHandler``:
/// connection limit, request read deadline) is further up and sees every request as before.
///
/// Order: a route's request waits while Hummingbird has answers to write, and everything that
/// arrives while a route's request is in progress (the next pipelined request, a parse error, the
/// client's half-close) is held, and reading stops, until its answer is written. A request with
/// `Connection: close` is the last one taken: its answer is followed by closing the output, as
/// Hummingbird does, and what follows it is dropped (never committed). Held parts passed on later
/// are followed by a `channelReadComplete`, as a socket read ends: Hummingbird's async channel
/// hands its task what it got only then.
final class LoopRouteHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum Event {
        case part(HTTPRequestPart)
        case user(Any)
        case error(any Error)
    }

    /// Where the parts of the request being read go.
    private enum Reading {
        case between
        case passed
        case ours
    }

    /// A route's request, from its head until it is answered and read whole. A class, so that
    /// marking it answered or read does not copy (and release) its fields each time.
    private final class Exchange {
        let id: UInt64
        let endpoint: String
        let method: HTTPRequest.Method
        let startNs: UInt64
        let close: Bool
        var body: LoopBody?
        var buffer = ByteBuffer()
        /// The body went over the limit: the rest is read and dropped.
        var dropping = false
        var answered = false
        var readWhole = false
        /// The answer's body written over time (a watch), from its head until it ends.
        var stream: (any LoopStream)?

        init(id: UInt64, endpoint: String, method: HTTPRequest.Method, startNs: UInt64, close: Bool) {
            self.id = id
            self.endpoint = endpoint
            self.method = method
            self.startNs = startNs
            self.close = close
        }
    }

    private let routes: LoopRoutes
    private var reading = Reading.between
    /// Requests passed on to Hummingbird whose answers have not ended.
    private var passed = 0
    private var exchange: Exchange?
    private var nextID: UInt64 = 0
    /// Small at first (it holds only what arrives while an answer is pending): every connection
    /// has one, a spoke's idle watchers too (the default of 16 events was 672 bytes each).
    private var held = CircularBuffer<Event>(initialCapacity: 2)
    private var readWanted = false
    /// A request with `Connection: close` was taken: nothing after it is.
    private var closing = false
    private var context: ChannelHandlerContext?
    /// The mailbox of this connection's loop, looked up at its first answer.
    private var mailbox: LoopMailbox?

    init(routes: LoopRoutes) {
        self.routes = routes
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        abandon()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        abandon()
        held.removeAll()
        context.fireChannelInactive()
    }

    /// Forgets the route's request in progress: its answer, if one comes, is not written, and a
    /// stream being written ends.
    private func abandon() {
        if let exchange, !exchange.answered { routes.metrics.active(exchange.method).decrement() }
        let stream = exchange?.stream
        exchange?.stream = nil
        exchange = nil
        if reading == .ours { reading = .between }
        stream?.ended()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let stream = exchange?.stream { stream.writable() }
        context.fireChannelWritabilityChanged()
    }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        receive(.part(unwrapInboundIn(data)), context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        receive(.user(event), context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        receive(.error(error), context)
    }

    private func receive(_ event: Event, _ context: ChannelHandlerContext) {
        if held.isEmpty && !mustWait(event) {
            handle(event, context)
        } else {
            held.append(event)
        }
    }

    /// Whether `event` has to wait for an answer to be written first.
    private func mustWait(_ event: Event) -> Bool {
        if exchange != nil {
            // What belongs to the route's own request (its parts, an error or the end of input
            // while it is read) goes on; everything after it waits.
            if reading == .ours {
                if case .part(.head) = event { return true }
                return false
            }
            return true
        }
        if case .part(.head(let head)) = event, passed > 0, !closing, routes.match(head) != nil { return true }
        return false
    }

    private func handle(_ event: Event, _ context: ChannelHandlerContext) {
        switch event {
        case .part(let part):
            handle(part, context)
        case .user(let user):
            // The end of input inside the route's body: the request is abandoned.
            if reading == .ours { abandon() }
            context.fireUserInboundEventTriggered(user)
        case .error(let error):
            // A parse error inside the route's body: the request is abandoned unanswered, and
            // Hummingbird answers the error (400 and close) as it would have.
            if reading == .ours { abandon() }
            context.fireErrorCaught(error)
        }
    }

    private func handle(_ part: HTTPRequestPart, _ context: ChannelHandlerContext) {
        // After a request with `Connection: close`, nothing more is taken.
        if closing && reading == .between { return }
        switch (part, reading) {
        case (.head(let head), _):
            if let (route, uri, segment) = routes.match(head) {
                begin(route, head: head, uri: uri, segment: segment, context)
            } else {
                reading = .passed
                passed += 1
                if head.headerFields[.connection] == "close" { closing = true }
                context.fireChannelRead(wrapInboundOut(part))
            }
        case (.body(let bytes), .ours):
            guard let exchange, !exchange.dropping, let body = exchange.body, let limit = body.limit else { return }
            if exchange.buffer.readableBytes + bytes.readableBytes > limit {
                exchange.dropping = true
                exchange.buffer = ByteBuffer()
                answer(exchange.id, .success(body.overLimit ?? PaneHTTP.errorAnswer(.contentTooLarge, "request body is over the size limit")))
                return
            }
            var bytes = bytes
            if exchange.buffer.readableBytes == 0 && exchange.buffer.capacity == 0 {
                exchange.buffer = bytes
            } else {
                exchange.buffer.writeBuffer(&bytes)
            }
        case (.end, .ours):
            reading = .between
            guard let exchange else { return }
            exchange.readWhole = true
            let run = !exchange.dropping && exchange.body?.limit != nil ? exchange.body : nil
            let buffer = exchange.buffer
            exchange.buffer = ByteBuffer()
            if let run { go(run, buffer: buffer, exchange.id, context) } else { finishIfDone(context) }
        case (.end, _):
            reading = .between
            context.fireChannelRead(wrapInboundOut(part))
        case (.body, _):
            context.fireChannelRead(wrapInboundOut(part))
        }
    }

    private func begin(_ route: LoopRoute, head: HTTPRequest, uri: URI, segment: Substring, _ context: ChannelHandlerContext) {
        nextID &+= 1
        let close = head.headerFields[.connection] == "close"
        if close { closing = true }
        reading = .ours
        exchange = Exchange(
            id: nextID, endpoint: route.endpoint, method: head.method, startNs: DispatchTime.now().uptimeNanoseconds, close: close)
        routes.metrics.active(head.method).increment()
        if let refusal = routes.refusal(head, path: uri.path) {
            answer(nextID, .success(refusal))
            return
        }
        let body: LoopBody
        do {
            body = try route.start(LoopRequest(head: head, uri: uri, segment: segment))
        } catch {
            answer(nextID, .failure(error))
            return
        }
        exchange?.body = body
        if body.limit == nil { go(body, buffer: ByteBuffer(), nextID, context) }
    }

    /// Runs the route's answer; it comes back on this loop, through the loop's mailbox (the
    /// answers of one group commit reach a loop in one task).
    private func go(_ body: LoopBody, buffer: ByteBuffer, _ id: UInt64, _ context: ChannelHandlerContext) {
        let mailbox = self.mailbox ?? LoopMailbox.of(context.eventLoop)
        self.mailbox = mailbox
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        body.answer(buffer) { result in
            mailbox.post { handler.value.answer(id, result) }
        }
    }

    // MARK: answering

    /// Writes the answer of exchange `id`, unless the connection dropped it; counts it as the
    /// request metrics middleware does.
    private func answer(_ id: UInt64, _ result: Result<Answer, any Error>) {
        guard let exchange, exchange.id == id, !exchange.answered, let context else { return }
        exchange.answered = true
        let (answer, failed) = LoopRoutes.answer(result)
        let metrics = routes.metrics.endpoint(exchange.endpoint, exchange.method, answer.status)
        metrics.counter.increment()
        metrics.timer.recordNanoseconds(DispatchTime.now().uptimeNanoseconds - exchange.startNs)
        if failed { metrics.errors.increment() }
        routes.metrics.active(exchange.method).decrement()
        // Route answers never carry `Date` or `Server`: both are appended, as Hummingbird adds them.
        var fields = answer.headers
        fields.reserveCapacity(fields.count + 2)
        fields.append(HTTPDate.field)
        fields.append(routes.serverField)
        let head = HTTPResponse(status: answer.status, headerFields: fields)
        if let stream = answer.stream {
            // The body follows over time; the exchange lasts until the stream ends.
            context.writeAndFlush(wrapOutboundOut(.head(head)), promise: nil)
            exchange.stream = stream
            stream.start(ChannelStreamSink(handler: self, context: context, id: id))
            return
        }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if answer.body.readableBytes > 0 { context.write(wrapOutboundOut(.body(answer.body)), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        finishIfDone(context)
    }

    /// Ends the exchange once it is answered and read whole, then takes what was held.
    private func finishIfDone(_ context: ChannelHandlerContext) {
        guard let exchange, exchange.answered, exchange.readWhole, exchange.stream == nil else { return }
        self.exchange = nil
        if exchange.close { context.close(mode: .output, promise: nil) }
        drain(context)
    }

    /// Handles held events in order until one has to wait again; reading resumes when none is held.
    private func drain(_ context: ChannelHandlerContext) {
        var handled = false
        while let event = held.first, !mustWait(event) {
            held.removeFirst()
            handle(event, context)
            handled = true
        }
        // Hummingbird's async channel hands what it was given to its task at the end of a read.
        if handled { context.fireChannelReadComplete() }
        if held.isEmpty && readWanted {
            readWanted = false
            context.read()
        }
    }

    // MARK: streams

    /// Whether exchange `id`'s stream is still being written.
    fileprivate func streams(_ id: UInt64) -> Bool {
        exchange?.id == id && exchange?.stream != nil
    }

    /// Ends exchange `id`'s streamed body with its last chunk.
    fileprivate func finishStream(_ id: UInt64) {
        guard let exchange, exchange.id == id, let stream = exchange.stream, let context else { return }
        exchange.stream = nil
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        stream.ended()
        finishIfDone(context)
    }

    // MARK: outbound

    func read(context: ChannelHandlerContext) {
        if held.isEmpty {
            context.read()
        } else {
            readWanted = true
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let ended: Bool
        if case .end = unwrapOutboundIn(data) { ended = true } else { ended = false }
        context.write(data, promise: promise)
        if ended && passed > 0 {
            passed -= 1
            if passed == 0 && exchange == nil && !held.isEmpty { drain(context) }
        }
    }
}

/// A ``LoopStream``'s way to its connection: writes go to the channel while the stream's
/// exchange is the handler's current one.
private final class ChannelStreamSink: LoopStreamSink, @unchecked Sendable {
    let handler: LoopRouteHandler
    let context: ChannelHandlerContext
    let id: UInt64

    init(handler: LoopRouteHandler, context: ChannelHandlerContext, id: UInt64) {
        self.handler = handler
        self.context = context
        self.id = id
    }

    var eventLoop: any EventLoop { context.eventLoop }

    var isWritable: Bool { context.channel.isWritable }

    func write(_ buffer: ByteBuffer) {
        guard handler.streams(id) else { return }
        context.writeAndFlush(handler.wrapOutboundOut(.body(buffer)), promise: nil)
    }

    func finish() {
        handler.finishStream(id)
    }

    func close() {
        guard handler.streams(id) else { return }
        context.close(promise: nil)
    }
}
