import Foundation
import Logging
import PaneCore

/// Appends one line per applied update, `seq hubCommitUs replicaCommitUs us`, for the load-test
/// runner: both times in microseconds since the epoch, and the trailing `us` names the unit
/// (lines before issue 13 were `seq hubCommitMs replicaCommitMs`, without it; the load-test
/// reader takes both). Buffered: one write per batch.
final class LatencyLog {
    private let handle: FileHandle

    init?(path: String, logger: Logger) {
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            logger.error("cannot open the latency log; latencies are not recorded", metadata: ["path": "\(path)"])
            return nil
        }
        handle.seekToEndOfFile()
        self.handle = handle
    }

    deinit { try? handle.close() }

    func record(_ updates: [ContextUpdate], committedAtUs: Int64) {
        guard !updates.isEmpty else { return }
        var text = ""
        text.reserveCapacity(updates.count * 44)
        for update in updates {
            text += "\(update.seq) \(update.hubTimeUs) \(committedAtUs) us\n"
        }
        handle.write(Data(text.utf8))
    }
}
