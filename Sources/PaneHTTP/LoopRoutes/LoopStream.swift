import HTTPTypes
import Hummingbird
import NIOCore
import NIOPosix

/// An answer's body written over time on an event loop, after its head: the spoke's watch
/// streams (docs/architecture.md, "Watching a prefix"). No Swift task serves it on the loop
/// route: ``LoopRouteHandler`` writes the head, hands the stream a ``LoopStreamSink`` on the
/// connection's channel, and calls it on the loop when the channel becomes writable again or the
/// connection ends.
///
/// Every method is called on the sink's event loop.
public protocol LoopStream: AnyObject, Sendable {
    /// The head is written: the body may be written through `sink` until ``ended()``.
    func start(_ sink: any LoopStreamSink)
    /// The sink became writable again (it may be called when it already was).
    func writable()
    /// The connection closed, or the body was finished or closed: nothing more is written.
    func ended()
}

/// Where a ``LoopStream`` writes its body; used on ``eventLoop`` only.
public protocol LoopStreamSink: AnyObject, Sendable {
    var eventLoop: any EventLoop { get }
    /// Whether the sink takes more without queuing past its high-water mark: a stream that
    /// writes while it is not writable buffers without bound.
    var isWritable: Bool { get }
    /// Writes and flushes a piece of the body.
    func write(_ buffer: ByteBuffer)
    /// Ends the body properly (the last chunk); the connection stays open for the next request.
    func finish()
    /// Closes the connection without ending the body (the client sees the answer cut).
    func close()
}

/// The sink of a stream served through Hummingbird (the router's copy of a loop route, for odd
/// spellings of its path): the stream runs on an event loop of the process, and the answer's
/// body task writes what it hands over, one write at a time.
final class TaskStreamSink: LoopStreamSink, @unchecked Sendable {
    enum Command {
        case write(ByteBuffer)
        case finish
        case close
    }

    let eventLoop: any EventLoop
    private let commands: AsyncStream<Command>.Continuation
    /// Writes handed over and not yet written (on ``eventLoop``).
    var queued = 0

    init(eventLoop: any EventLoop, commands: AsyncStream<Command>.Continuation) {
        self.eventLoop = eventLoop
        self.commands = commands
    }

    var isWritable: Bool { queued == 0 }

    func write(_ buffer: ByteBuffer) {
        queued += 1
        commands.yield(.write(buffer))
    }

    func finish() {
        commands.yield(.finish)
        commands.finish()
    }

    func close() {
        commands.yield(.close)
        commands.finish()
    }

    /// `stream` as a Hummingbird response body.
    static func body(_ stream: any LoopStream) -> ResponseBody {
        ResponseBody { writer in
            let loop = MultiThreadedEventLoopGroup.singleton.any()
            let (commands, continuation) = AsyncStream.makeStream(of: Command.self)
            let sink = TaskStreamSink(eventLoop: loop, commands: continuation)
            loop.execute { stream.start(sink) }
            defer { loop.execute { stream.ended() } }
            for await command in commands {
                switch command {
                case .write(let buffer):
                    try await writer.write(buffer)
                    loop.execute {
                        sink.queued -= 1
                        stream.writable()
                    }
                case .finish:
                    try await writer.finish(nil)
                    return
                case .close:
                    throw LoopStreamClosed()
                }
            }
            throw CancellationError()
        }
    }
}

/// A ``LoopStream`` closed its connection.
struct LoopStreamClosed: Error {}
