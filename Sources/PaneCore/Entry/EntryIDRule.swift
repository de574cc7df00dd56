/// Which stream entry ids a replica may take as region seqs. Anyone who can write to Redis can
/// XADD an entry with any id above the stream's top, so an id is checked before it is used:
///
/// - it must be `<seq>-0` with `seq ≥ 1` (ids made by `XADD … *` within one millisecond, or
///   explicit ids such as `5-1`, are not the hub's);
/// - `seq` must fit the stores, which keep seqs as SQLite's signed 64-bit integers
///   (``maxSeq``): `9223372036854775808-0` is a valid Redis id, but no seq;
/// - `seq` must not lie beyond the hub's highest seq for the region plus ``margin``. The hub
///   writes that seq to `pane:{R}:hub` (field `seq`) in the same pipeline as, and before, the
///   entries it publishes, so every entry of the hub's that a worker can read is at or below the
///   seq that worker reads from there afterwards: no margin is needed, and the default is 0. A
///   millisecond id (`XADD … *`, about 1.7 × 10¹² today) lies far beyond any region's seqs.
///
/// An entry that breaks the rule is a dead letter: it is none of the hub's entries.
public enum EntryIDRule {
    /// The largest seq a store holds: `Int64.max`.
    public static let maxSeq = UInt64(Int64.max)

    /// The default slack above the hub's highest seq (see the type's documentation).
    public static let defaultMargin: UInt64 = 0

    /// The seq of entry `id`, as far as its form goes: `<seq>-0` with `1 ≤ seq ≤ maxSeq`.
    ///
    /// - Throws: ``EntryError`` of kind ``EntryError/Kind/badEntryID`` (not `<seq>-0`) or
    ///   ``EntryError/Kind/seqOutOfRange`` (does not fit), naming the id.
    public static func seq(of id: String) throws(EntryError) -> UInt64 {
        let utf8 = id.utf8
        guard utf8.count > 2, id.hasSuffix("-0") else {
            throw EntryError(.badEntryID, field: "id", detail: "entry id '\(id.prefix(60))' is not '<seq>-0' with seq >= 1")
        }
        let digits = utf8.dropLast(2)
        guard digits.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw EntryError(.badEntryID, field: "id", detail: "entry id '\(id.prefix(60))' is not '<seq>-0' with seq >= 1")
        }
        let significant = digits.drop { $0 == 0x30 }
        guard significant.count <= 19, let seq = UInt64(String(decoding: significant.isEmpty ? digits : significant, as: UTF8.self)),
            seq <= maxSeq
        else {
            throw EntryError(
                .seqOutOfRange, field: "id",
                detail: "entry id '\(id.prefix(60))': seq does not fit a signed 64-bit integer (at most \(maxSeq))")
        }
        guard seq >= 1 else {
            throw EntryError(.badEntryID, field: "id", detail: "entry id '\(id)' is not '<seq>-0' with seq >= 1")
        }
        return seq
    }

    /// Checks `seq` against the hub's highest seq for the region (`nil`: not known, so only the
    /// form and the range are checked).
    ///
    /// - Throws: ``EntryError`` of kind ``EntryError/Kind/seqBeyondHub``, naming both seqs.
    public static func check(seq: UInt64, hubSeq: UInt64?, margin: UInt64 = defaultMargin) throws(EntryError) {
        guard let hubSeq else { return }
        let (limit, overflow) = hubSeq.addingReportingOverflow(margin)
        guard overflow || seq <= limit else {
            throw EntryError(
                .seqBeyondHub, field: "id",
                detail: "entry id '\(seq)-0' lies beyond the hub's highest seq \(hubSeq)\(margin > 0 ? " + \(margin)" : ""): not written by the hub")
        }
    }

    /// ``seq(of:)`` and ``check(seq:hubSeq:margin:)`` in one.
    public static func validate(_ id: String, hubSeq: UInt64?, margin: UInt64 = defaultMargin) throws(EntryError) -> UInt64 {
        let seq = try seq(of: id)
        try check(seq: seq, hubSeq: hubSeq, margin: margin)
        return seq
    }

    /// The two numbers of a Redis stream id `<ms>-<n>` (or `<ms>`), for comparing ids; `nil` for
    /// anything else.
    public static func streamID(_ id: String) -> (UInt64, UInt64)? {
        let parts = id.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let ms = UInt64(parts[0]) else { return nil }
        guard parts.count == 2 else { return (ms, 0) }
        guard let n = UInt64(parts[1]) else { return nil }
        return (ms, n)
    }

    /// Whether stream id `a` lies after stream id `b`; ids that are not stream ids compare as
    /// not after.
    public static func isAfter(_ a: String, _ b: String) -> Bool {
        guard let x = streamID(a), let y = streamID(b) else { return false }
        return x > y
    }
}
