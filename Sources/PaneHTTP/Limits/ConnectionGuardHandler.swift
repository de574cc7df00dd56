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
    private var deadline: Scheduled<Void>?

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
    /// start the clock unless it runs.
    func requestStarted(_ channel: any Channel) {
        guard deadline == nil, let timeout = gate.requestReadTimeout else { return }
        let gate = gate
        deadline = channel.eventLoop.scheduleTask(in: timeout) {
            gate.requestCut()
            channel.close(promise: nil)
        }
    }

    private func requestRead() {
        deadline?.cancel()
        deadline = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish()
    }

    private func finish() {
        requestRead()
        if counted {
            counted = false
            gate.release()
        }
    }
}
