/// Whether a worker reads again, without blocking, before it applies what a read returned.
///
/// The hub publishes a round as one pipeline: `HSET pane:{R}:hub seq <highest>`, then one `XADD`
/// per entry. Redis serves a client blocked in `XREADGROUP` right after the first `XADD`, so a
/// worker waiting for the stream wakes with one entry; the `HMGET` of the hub's seq that follows
/// its read in the same pipeline runs after the rest of the round, and says how many more are
/// there. Applying the one entry, then the rest, costs two transactions, two acks and two
/// wake-ups where one would do: the worker reads the rest first (a round trip, no commit).
///
/// Seqs are per region and the hub sends a region's entries in seq order, so `hubSeq - lastSeq`
/// entries are expected; fewer may come (a round still on the wire, entries trimmed), and a read
/// that returns none ends the top-up. Entries are untrusted: an id that is not a seq ends it too
/// (its entry is dead-lettered as usual), and the count asked for never exceeds the batch size.
public enum ReadTopUp {
    /// How many entries to ask for in a top-up read, or `nil` for none: the batch holds `read`
    /// entries (of at most `batchSize`), the last with seq `lastSeq` (`nil`: not a seq), and the
    /// hub's highest seq read after them is `hubSeq` (`nil`: unknown).
    public static func count(read: Int, batchSize: Int, lastSeq: UInt64?, hubSeq: UInt64?) -> Int? {
        guard read > 0, read < batchSize, let lastSeq, let hubSeq, hubSeq > lastSeq else { return nil }
        let expected = hubSeq - lastSeq
        return expected < UInt64(batchSize - read) ? Int(expected) : batchSize - read
    }
}
