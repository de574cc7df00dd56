import PaneCore
import PaneRedis

extension SpokeWorker {
    /// Completes a batch read from the stream (`>`) before it is applied: while the hub's seq
    /// read with it says more of the hub's round is in the stream (``ReadTopUp``), reads it,
    /// without blocking, in the same pipeline shape (the read, then the hub's seq). One
    /// transaction, one ack and one wake-up for the round instead of two.
    ///
    /// A failure throws like any read: what was read stays pending on this consumer and is
    /// re-read from the pending list.
    func topUp(_ entries: [StreamEntry], loop: Loop, reader: RedisClient) throws(RedisError) -> [StreamEntry] {
        var batch = entries
        while let count = ReadTopUp.count(
            read: batch.count, batchSize: config.batchSize, lastSeq: batch.last.flatMap { try? EntryIDRule.seq(of: $0.id) },
            hubSeq: loop.hubSeq)
        {
            let commands = readCommands(blockMs: nil, id: ">", count: count)
            let more = try reader.run { conn throws(RedisError) in
                try conn.send(commands)
                return try receiveRead(conn, loop: loop)
            }
            loop.metrics.topUps.increment()
            if more.isEmpty { break }
            batch += more
        }
        // The last seq read covers every entry of the batch: the hub's seq only grows.
        loop.hubSeqFresh = !batch.isEmpty
        return batch
    }
}
