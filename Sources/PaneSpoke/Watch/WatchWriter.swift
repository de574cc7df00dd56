import Hummingbird
import Synchronization

/// A watch answer's body writer, handed to the feed loop's task (only that task writes, and the
/// route finishes the body after the loop ended), and the number of the write in progress, which
/// the watchdog compares.
final class WatchWriter: @unchecked Sendable {
    var writer: any ResponseBodyWriter
    /// The write in progress (numbered from 1), nil between writes.
    let pending = Mutex<UInt64?>(nil)

    init(_ writer: any ResponseBodyWriter) {
        self.writer = writer
    }
}
