/// Parses the spokes' latency log lines. Pure.
///
/// Two line formats, told apart by the unit word:
/// - `seq hubCommitUs replicaCommitUs us`: microseconds since the epoch (issue 13 onwards),
///   and `seq hubCommitUs replicaCommitUs us N` for an entry that carried N writes (a batch, or
///   a group commit the hub published as one entry): the line stands for N writes;
/// - `seq hubCommitMs replicaCommitMs`: milliseconds, no unit word (older spokes); read as
///   microseconds, times 1000.
enum LatencyLogParser {
    struct Line: Equatable {
        let seq: UInt64
        let hubUs: Int64
        let replicaUs: Int64
        /// How many writes the entry carried.
        var count = 1
    }

    /// Parses the complete lines of `bytes`; returns them and how many bytes they used (a
    /// trailing partial line is left for the next read). Garbled lines, which a `kill -9` in
    /// the middle of a write can leave, are skipped.
    static func parse(_ bytes: ArraySlice<UInt8>) -> (lines: [Line], consumed: Int) {
        var lines: [Line] = []
        var fields: [Int64] = []
        var current: Int64 = 0
        var digits = 0
        // 0: no unit word yet; 1: read "u"; 2: read "us"; 3: read "us " (a count follows).
        var unit = 0
        var bad = false
        var consumed = 0
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if (unit != 0 && unit != 3) || digits >= 18 { bad = true }
                current = current &* 10 &+ Int64(byte - UInt8(ascii: "0"))
                digits += 1
            case UInt8(ascii: " "):
                if unit == 2 && digits == 0 {
                    unit = 3
                    continue
                }
                if digits > 0 && unit != 3 { fields.append(current) } else { bad = true }
                current = 0
                digits = 0
            case UInt8(ascii: "u"):
                if unit == 0, digits == 0, fields.count == 3 { unit = 1 } else { bad = true }
            case UInt8(ascii: "s"):
                if unit == 1 { unit = 2 } else { bad = true }
            case UInt8(ascii: "\n"):
                if digits > 0 { fields.append(current) }
                let plain = fields.count == 3 && (unit == 0 || unit == 2)
                let counted = unit == 3 && fields.count == 4 && fields[3] >= 1 && fields[3] <= Int64(Int32.max)
                if !bad, plain || counted, fields[0] > 0 {
                    let scale: Int64 = unit == 0 ? 1000 : 1
                    let (hub, o1) = fields[1].multipliedReportingOverflow(by: scale)
                    let (replica, o2) = fields[2].multipliedReportingOverflow(by: scale)
                    if !o1, !o2 {
                        lines.append(Line(seq: UInt64(fields[0]), hubUs: hub, replicaUs: replica, count: counted ? Int(fields[3]) : 1))
                    }
                }
                fields.removeAll(keepingCapacity: true)
                current = 0
                digits = 0
                unit = 0
                bad = false
                consumed = index - bytes.startIndex
            default:
                bad = true
            }
        }
        return (lines, consumed)
    }
}
