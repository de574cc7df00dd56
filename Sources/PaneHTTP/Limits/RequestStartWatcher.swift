import NIOCore

/// The front of a bounded connection's pipeline: tells its ``ConnectionGuardHandler`` that bytes
/// arrived, so the request deadline starts with a request's first byte, not its parsed head.
final class RequestStartWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let owner: ConnectionGuardHandler

    init(owner: ConnectionGuardHandler) {
        self.owner = owner
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        owner.requestStarted(context.channel)
        context.fireChannelRead(data)
    }
}
