import Foundation
import PaneReader

/// Each replica file's watermark, read through one ``PaneReader`` per file, opened on first use
/// and kept for the run (the quiescence wait and the `killMaster` fault read it every few ms).
final class ReplicaWatermarks: @unchecked Sendable {
    private let lock = NSLock()
    private var readers: [String: PaneReader] = [:]

    /// The watermark of the replica file at `path`; 0 while the file cannot be read yet.
    func watermark(_ path: String) -> UInt64 {
        let reader = lock.withLock { () -> PaneReader? in
            if let reader = readers[path] { return reader }
            let opened = try? PaneReader(path: path)
            readers[path] = opened
            return opened
        }
        return (try? reader?.position().watermark) ?? 0
    }
}
