import Foundation

/// The binary form of a snapshot chunk: a list of rows, each
/// `u16 idLength, id, i64 version, u8 flags, i64 hubTimeMs, u64 seq, u32 bodyLength, body`
/// (little-endian; flags bit 0 = deleted, bit 1 = body missing).
public enum SnapshotChunkCodec {
    /// The rows encoded after `prefix` (a streamed snapshot's element header), in one buffer.
    public static func encode(_ rows: [SnapshotRow], prefix: [UInt8] = []) -> [UInt8] {
        var out: [UInt8] = prefix
        out.reserveCapacity(prefix.count + rows.reduce(0) { $0 + 31 + $1.id.value.utf8.count + $1.body.count })
        func put<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
        }
        for row in rows {
            let id = row.id.value.utf8
            put(UInt16(id.count))
            out.append(contentsOf: id)
            put(row.version)
            put(UInt8((row.deleted ? 1 : 0) | (row.bodyMissing ? 2 : 0)))
            put(row.hubTimeMs)
            put(row.seq)
            put(UInt32(row.body.count))
            out.append(contentsOf: row.body)
        }
        return out
    }

    /// The rows of `bytes` from byte `start` on (a streamed snapshot's element has a header first).
    public static func decode(_ bytes: [UInt8], from start: Int = 0) throws(EntryError) -> [SnapshotRow] {
        do {
            return try bytes.withUnsafeBytes { buffer in try decode(buffer, from: start) }
        } catch let error as EntryError {
            throw error
        } catch {
            throw EntryError(.badBody, field: "chunk", detail: "\(error)")
        }
    }

    /// ``decode(_:from:)-([UInt8],_)`` over raw bytes (the Redis client's reply buffer, on the
    /// replica): fixed-width fields are loaded in place, and each row's id and body are copied once.
    public static func decode(_ bytes: UnsafeRawBufferPointer, from start: Int) throws(EntryError) -> [SnapshotRow] {
        var rows: [SnapshotRow] = []
        var index = start
        func take(_ count: Int) throws(EntryError) -> UnsafeRawBufferPointer {
            guard count >= 0, index <= bytes.count, count <= bytes.count - index else {
                throw EntryError(.badBody, field: "chunk", detail: "snapshot chunk ends in the middle of a row (byte \(index) of \(bytes.count))")
            }
            defer { index += count }
            return UnsafeRawBufferPointer(rebasing: bytes[index..<(index + count)])
        }
        func int<T: FixedWidthInteger>(_: T.Type) throws(EntryError) -> T {
            T(littleEndian: try take(MemoryLayout<T>.size).loadUnaligned(as: T.self))
        }
        while index < bytes.count {
            let idLength = Int(try int(UInt16.self))
            let idText = String(decoding: try take(idLength), as: UTF8.self)
            let id: ContextID
            do { id = try ContextID(idText) } catch {
                throw EntryError(.badContextID, field: "chunk", detail: error.description)
            }
            let version = try int(Int64.self)
            let flags = try int(UInt8.self)
            let ts = try int(Int64.self)
            let seq = try int(UInt64.self)
            // Anyone who can write to Redis can write a chunk: a seq the store cannot hold is refused, not trapped on.
            guard seq <= EntryIDRule.maxSeq else {
                throw EntryError(.seqOutOfRange, field: "chunk", detail: "snapshot row '\(idText.prefix(60))': seq \(seq) does not fit a signed 64-bit integer")
            }
            let bodyLength = Int(try int(UInt32.self))
            let body = [UInt8](try take(bodyLength))
            rows.append(
                SnapshotRow(id: id, version: version, deleted: flags & 1 != 0, body: body, hubTimeMs: ts, seq: seq, bodyMissing: flags & 2 != 0))
        }
        return rows
    }
}
