import Foundation
import Logging
import Metrics
import PaneCore
import PaneRedis
import PaneRuntime
import PaneStore

extension Publisher {
    /// `XADD key <seq>-0 ctx … sum …`, encoded straight into the pipeline buffer. No MAXLEN:
    /// the ``ResyncWorker`` trims each stream behind its live replicas (retention).
    func appendXadd(to buffer: inout RedisCommandBuffer, key: StreamKey, update: ContextUpdate) {
        buffer.beginXadd(
            key: key, seq: Int(truncatingIfNeeded: update.seq), suffix: StreamEntryCodec.entryIDSuffix,
            fieldCount: StreamEntryCodec.fieldCount(of: update))
        var sink = BufferSink(buffer: buffer)
        buffer = RedisCommandBuffer()  // hand the storage over without a copy
        StreamEntryCodec.encode(update, into: &sink)
        buffer = sink.buffer
    }
}

/// Writes entry fields as XADD arguments.
struct BufferSink: StreamFieldSink {
    var buffer: RedisCommandBuffer
    mutating func field(_ name: String, text: String) {
        buffer.argument(name)
        buffer.argument(text)
    }
    mutating func field(_ name: String, bytes: [UInt8]) {
        buffer.argument(name)
        buffer.argument(bytes)
    }
    mutating func field(_ name: String, integer: Int64) {
        buffer.argument(name)
        buffer.argument(Int(integer))
    }
}
