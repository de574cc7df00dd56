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
    func appendXadd(to buffer: inout RedisCommandBuffer, key: StreamKey, update: ContextUpdate, sums: inout SharedSums) {
        buffer.beginXadd(
            key: key, seq: Int(truncatingIfNeeded: update.seq), suffix: StreamEntryCodec.entryIDSuffix,
            fieldCount: StreamEntryCodec.fieldCount(of: update))
        var sink = BufferSink(buffer: buffer)
        buffer = RedisCommandBuffer()  // hand the storage over without a copy
        StreamEntryCodec.encode(update, sum: sums.sum(of: update), into: &sink)
        buffer = sink.buffer
    }
}

/// The checksums of a round's large entries, by the storage of their body: a batch's entry goes
/// to every region of the batch with the same body array, and its `sum` (over a body of tens of
/// KiB) is computed once for all of them instead of once per region (issue 13). A round's rows
/// hold their bodies for the whole round, so a storage address names one body while it is used.
struct SharedSums {
    /// Below this, a checksum costs less than the lookup.
    static let minimumBytes = 4_096

    struct Key: Hashable {
        let body: UInt
        let count: Int
        let id: ContextID
        let version: Int64
        let op: ContextOp
        let hubTimeUs: Int64
    }
    private var sums: [Key: String] = [:]

    mutating func sum(of update: ContextUpdate) -> String {
        guard update.body.count >= Self.minimumBytes else { return StreamEntryCodec.sum(of: update) }
        let address = update.body.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        let key = Key(body: address, count: update.body.count, id: update.id, version: update.version, op: update.op, hubTimeUs: update.hubTimeUs)
        if let sum = sums[key] { return sum }
        let sum = StreamEntryCodec.sum(of: update)
        sums[key] = sum
        return sum
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
