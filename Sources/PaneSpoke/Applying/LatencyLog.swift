import Foundation
import Logging
import PaneCore

/// Appends one line per applied update, `seq hubCommitMs replicaCommitMs`, for the load-test
/// runner. Buffered: one write per batch.
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

    func record(_ updates: [ContextUpdate], committedAtMs: Int64) {
        guard !updates.isEmpty else { return }
        var text = ""
        text.reserveCapacity(updates.count * 32)
        for update in updates {
            text += "\(update.seq) \(update.hubTimeMs) \(committedAtMs)\n"
        }
        handle.write(Data(text.utf8))
    }
}
