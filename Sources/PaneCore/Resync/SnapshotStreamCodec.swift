import Foundation

/// The elements of a streamed snapshot's list (``SnapshotAnnouncement/streamed``), each one
/// RPUSH, in this order:
///
/// - index 0, `begin`: `u8 0, i64 epoch, u64 seq`. Written before the announcement, with the
///   list's expiry, so the list exists from the moment a replica can read the announcement: a
///   list that is gone later is gone for good (expired, or deleted), never "not yet written".
/// - index k + 1, chunk k: `u8 1, u32 k`, then the rows (``SnapshotChunkCodec``).
/// - last, `end`: `u8 2, u32 chunks, u64 rows`: the snapshot is complete.
///
/// A hub that cannot finish a snapshot deletes the list; one that dies leaves it without `end`.
///
/// Little-endian. Every element is untrusted input: a replica checks the kind, the chunk's
/// index against its position, and the totals against what it read, and gives the snapshot up
/// on any mismatch.
public enum SnapshotStreamCodec {
    public enum Element: Sendable, Equatable {
        case begin(epoch: Int64, seq: UInt64)
        case chunk(index: Int, rows: [SnapshotRow])
        case end(chunks: Int, rows: Int)
    }

    /// The list index of chunk `index`.
    public static func listIndex(ofChunk index: Int) -> Int { index + 1 }

    public static func begin(epoch: Int64, seq: UInt64) -> [UInt8] {
        var out: [UInt8] = [0]
        append(epoch, to: &out)
        append(seq, to: &out)
        return out
    }

    public static func chunk(index: Int, rows: [SnapshotRow]) -> [UInt8] {
        var prefix: [UInt8] = [1]
        append(UInt32(truncatingIfNeeded: index), to: &prefix)
        return SnapshotChunkCodec.encode(rows, prefix: prefix)
    }

    public static func end(chunks: Int, rows: Int) -> [UInt8] {
        var out: [UInt8] = [2]
        append(UInt32(truncatingIfNeeded: chunks), to: &out)
        append(UInt64(max(0, rows)), to: &out)
        return out
    }

    public static func decode(_ bytes: [UInt8]) throws(EntryError) -> Element {
        do {
            return try bytes.withUnsafeBytes { buffer in try decode(buffer) }
        } catch let error as EntryError {
            throw error
        } catch {
            throw EntryError(.badBody, field: "chunk", detail: "\(error)")
        }
    }

    /// ``decode(_:)-([UInt8])`` over bytes in place: the replica decodes each element in the
    /// Redis client's reply buffer (``RedisConnection/receiveBulkString(command:_:)``).
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(EntryError) -> Element {
        func bad(_ detail: String) -> EntryError { EntryError(.badBody, field: "chunk", detail: "snapshot stream element: \(detail)") }
        guard let kind = bytes.first else { throw bad("empty") }
        func int<T: FixedWidthInteger>(_: T.Type, at offset: Int) throws(EntryError) -> T {
            guard offset + MemoryLayout<T>.size <= bytes.count else { throw bad("kind \(kind) is cut short (\(bytes.count) bytes)") }
            return T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
        switch kind {
        case 0:
            guard bytes.count == 17 else { throw bad("a begin element has 17 bytes, not \(bytes.count)") }
            return .begin(epoch: try int(Int64.self, at: 1), seq: try int(UInt64.self, at: 9))
        case 1:
            let index = Int(try int(UInt32.self, at: 1))
            return .chunk(index: index, rows: try SnapshotChunkCodec.decode(bytes, from: 5))
        case 2:
            guard bytes.count == 13 else { throw bad("an end element has 13 bytes, not \(bytes.count)") }
            let rows = try int(UInt64.self, at: 5)
            guard rows <= UInt64(Int.max) else { throw bad("an end element counts \(rows) rows") }
            return .end(chunks: Int(try int(UInt32.self, at: 1)), rows: Int(rows))
        default:
            throw bad("unknown kind \(kind)")
        }
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }
}
