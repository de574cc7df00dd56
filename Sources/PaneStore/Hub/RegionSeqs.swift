import Foundation
import PaneCore

/// Regions with the seq a write got in each, as the hub file stores them in `contexts.placed`
/// and `outbox_writes.seqs`: `,r1:12,r2:7,` (region names cannot hold `,` or `:`). The leading
/// and trailing commas let `instr(seqs, ',r1:')` find a region in SQL.
struct RegionSeqs: Equatable, Sendable {
    var entries: [(region: String, seq: Int64)]

    init(_ entries: [(region: String, seq: Int64)] = []) { self.entries = entries }

    /// Reads the stored text; a malformed part is skipped (the file is the hub's own).
    init(text: String) {
        var entries: [(region: String, seq: Int64)] = []
        for part in text.utf8.split(separator: UInt8(ascii: ",")) {
            guard let colon = part.lastIndex(of: UInt8(ascii: ":")),
                let seq = Int64(String(decoding: part[part.index(after: colon)...], as: UTF8.self))
            else { continue }
            entries.append((String(decoding: part[..<colon], as: UTF8.self), seq))
        }
        self.entries = entries
    }

    static func == (lhs: RegionSeqs, rhs: RegionSeqs) -> Bool {
        lhs.entries.elementsEqual(rhs.entries) { $0.region == $1.region && $0.seq == $1.seq }
    }

    var text: String {
        var text = ","
        for entry in entries {
            text += entry.region
            text += ":"
            text += String(entry.seq)
            text += ","
        }
        return text
    }

    /// True when the stored `text` names exactly the regions of `entries`, in that order, each
    /// with a seq (whatever it is), read without building a ``RegionSeqs``: a write to the same
    /// regions as the one before leaves `placements_apart` as it is. False for anything else,
    /// malformed text included (the caller then parses it as ``init(text:)`` does).
    static func sameRegions(_ text: String, as entries: [(region: String, seq: Int64)]) -> Bool {
        let comma = UInt8(ascii: ","), colon = UInt8(ascii: ":")
        var text = text
        return text.withUTF8 { bytes in
            var index = 0
            for entry in entries {
                guard index < bytes.count, bytes[index] == comma else { return false }
                index += 1
                for byte in entry.region.utf8 {
                    guard index < bytes.count, bytes[index] == byte else { return false }
                    index += 1
                }
                guard index < bytes.count, bytes[index] == colon else { return false }
                index += 1
                let digits = index
                while index < bytes.count, digit(bytes[index]) != nil { index += 1 }
                guard index > digits else { return false }
            }
            return index + 1 == bytes.count && bytes[index] == comma
        }
    }

    /// The seq of `region`, nil when the write did not go there.
    func seq(of region: String) -> Int64? {
        entries.first { $0.region == region }?.seq
    }

    /// The pattern `instr` looks for to find `region` in the stored text.
    static func pattern(_ region: Region) -> String { "," + region.name + ":" }

    /// The seq after `pattern` (a region's ``pattern(_:)``, as bytes) in the stored text's bytes:
    /// the raw-row readers find a region in SQLite's own copy of the column.
    static func seq(pattern: [UInt8], in bytes: UnsafeRawBufferPointer) -> Int64? {
        guard let first = pattern.first, bytes.count >= pattern.count else { return nil }
        var start = 0
        let last = bytes.count - pattern.count
        while start <= last {
            if bytes[start] == first, pattern.indices.allSatisfy({ bytes[start + $0] == pattern[$0] }) { break }
            start += 1
        }
        guard start <= last else { return nil }
        var index = start + pattern.count
        var seq: Int64 = 0
        var digits = 0
        while index < bytes.count, let digit = Self.digit(bytes[index]) {
            seq = seq &* 10 &+ digit
            digits += 1
            index += 1
        }
        return digits > 0 ? seq : nil
    }

    /// Calls `found(index, seq)` for every part of the stored text `text` whose region is
    /// `names[index]` (each name's UTF-8 bytes), in the text's order, without allocating: the
    /// publisher's outbox read parses each row once for all its regions. Malformed parts are
    /// skipped, as ``init(text:)`` does.
    static func forEachSeq(in text: UnsafeBufferPointer<UInt8>, of names: [[UInt8]], _ found: (Int, Int64) -> Void) {
        let comma = UInt8(ascii: ","), colon = UInt8(ascii: ":")
        var index = 0
        while index < text.count {
            let start = index
            var lastColon = -1
            while index < text.count, text[index] != comma {
                if text[index] == colon { lastColon = index }
                index += 1
            }
            defer { index += 1 }  // past the comma
            guard lastColon >= start, lastColon + 1 < index else { continue }
            var seq: Int64 = 0
            var digit = lastColon + 1
            while digit < index, let value = Self.digit(text[digit]) {
                seq = seq &* 10 &+ value
                digit += 1
            }
            guard digit == index else { continue }
            let length = lastColon - start
            for (position, name) in names.enumerated() where name.count == length {
                let same = name.withUnsafeBufferPointer { name in
                    length == 0 || memcmp(name.baseAddress!, text.baseAddress! + start, length) == 0
                }
                if same {
                    found(position, seq)
                    break
                }
            }
        }
    }

    private static func digit(_ byte: UInt8) -> Int64? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int64(byte - UInt8(ascii: "0")) : nil
    }
}
