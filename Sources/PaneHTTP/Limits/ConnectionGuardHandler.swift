import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Bounds one HTTP connection (issue 10, item 4): it is admitted only while its server has fewer
/// than ``ConnectionGate/limit`` connections (else it gets `503` and is closed at once), and a
/// request must be read whole, head and body, within ``ConnectionGate/requestReadTimeout`` of its
/// first byte (else the connection is closed). The idle timeout alone does not bound a client
/// that trickles a byte now and then.
///
/// Sits after the HTTP codec (Hummingbird's `additionalChannelHandlers`), where it sees where a
/// request ends; it adds a ``RequestStartWatcher`` at the front of the pipeline, which sees the
/// first raw byte of a request before its head is complete.
final class ConnectionGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let gate: ConnectionGate
    /// nil until the channel is active; then whether the gate let it in.
    private var admitted: Bool?
    private var counted = false
    /// When the request being read now started (its first byte); nil between requests.
    private var requestStart: NIODeadline?
    /// The one timer of this connection: it fires at the deadline of the request that was being
    /// read when it was set, and is not cancelled when that request is read in time (see
    /// ``deadlinePassed(_:)``), so back-to-back keep-alive requests schedule no timer each.
    private var timer: Scheduled<Void>?

    init(gate: ConnectionGate) {
        self.gate = gate
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { activate(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        activate(context)
        context.fireChannelActive()
    }

    private func activate(_ context: ChannelHandlerContext) {
        guard admitted == nil else { return }
        guard gate.admit() else {
            admitted = false
            refuse(context)
            return
        }
        admitted = true
        counted = true
        if gate.requestReadTimeout != nil {
            try? context.pipeline.syncOperations.addHandler(RequestStartWatcher(owner: self), position: .first)
        }
    }

    /// `503` with `Connection: close`, then close.
    private func refuse(_ context: ChannelHandlerContext) {
        let body = #"{"error":"too many connections: try again later"}"#
        var head = HTTPResponse(status: .serviceUnavailable)
        head.headerFields[.connection] = "close"
        head.headerFields[.contentType] = "application/json"
        head.headerFields[.contentLength] = String(body.utf8.count)
        head.headerFields[.retryAfter] = "1"
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(string: body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard admitted == true else { return }  // a refused connection's requests are dropped
        switch unwrapInboundIn(data) {
        case .head: requestStarted(context.channel)
        case .body: break
        case .end: requestRead()
        }
        context.fireChannelRead(data)
    }

    /// The first byte of a request arrived (or its head, when it came with the last request):
    /// start the clock unless it runs. Costs a clock read; a timer is scheduled only when none is
    /// pending.
    func requestStarted(_ channel: any Channel) {
        guard requestStart == nil, let timeout = gate.requestReadTimeout else { return }
        let now = NIODeadline.now()
        requestStart = now
        if timer == nil { schedule(channel, at: now + timeout) }
    }

    private func schedule(_ channel: any Channel, at deadline: NIODeadline) {
        let handler = NIOLoopBound(self, eventLoop: channel.eventLoop)
        timer = channel.eventLoop.scheduleTask(deadline: deadline) { handler.value.deadlinePassed(channel) }
    }

    /// The timer fired (on the channel's event loop): the request being read, if any, is cut when
    /// it started at least ``ConnectionGate/requestReadTimeout`` ago; a later one gets the timer
    /// again at its own deadline; with none in progress the timer ends.
    private func deadlinePassed(_ channel: any Channel) {
        timer = nil
        guard let start = requestStart, let timeout = gate.requestReadTimeout else { return }
        if NIODeadline.now() >= start + timeout {
            requestStart = nil
            gate.requestCut()
            channel.close(promise: nil)
        } else {
            schedule(channel, at: start + timeout)
        }
    }

    /// The request was read whole: its clock stops (the timer, if pending, finds nothing to cut).
    private func requestRead() {
        requestStart = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish()
    }

    private func finish() {
        requestStart = nil
        timer?.cancel()
        timer = nil
        if counted {
            counted = false
            gate.release()
        }
    }
}
