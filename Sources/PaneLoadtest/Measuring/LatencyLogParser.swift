/// Parses the spokes' latency log lines, `seq hubCommitMs replicaCommitMs`. Pure.
enum LatencyLogParser {
    struct Line: Equatable {
        let seq: UInt64
        let hubMs: Int64
        let replicaMs: Int64
    }

    /// Parses the complete lines of `bytes`; returns them and how many bytes they used (a
    /// trailing partial line is left for the next read). Garbled lines, which a `kill -9` in
    /// the middle of a write can leave, are skipped.
    static func parse(_ bytes: ArraySlice<UInt8>) -> (lines: [Line], consumed: Int) {
        var lines: [Line] = []
        var fields: [Int64] = []
        var current: Int64 = 0
        var digits = 0
        var bad = false
        var consumed = 0
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                current = current &* 10 &+ Int64(byte - UInt8(ascii: "0"))
                digits += 1
            case UInt8(ascii: " "):
                if digits > 0 { fields.append(current) } else { bad = true }
                current = 0
                digits = 0
            case UInt8(ascii: "\n"):
                if digits > 0 { fields.append(current) }
                if !bad, fields.count == 3, fields[0] > 0 {
                    lines.append(Line(seq: UInt64(fields[0]), hubMs: fields[1], replicaMs: fields[2]))
                }
                fields.removeAll(keepingCapacity: true)
                current = 0
                digits = 0
                bad = false
                consumed = index - bytes.startIndex
            default:
                bad = true
            }
        }
        return (lines, consumed)
    }
}
