import PaneCore
import PaneRuntime
import PaneStore

/// The changes of a replica file under a prefix, as ``WatchEvent``s (`put`, `delete`,
/// `synced`, `reset`; no `progress`): see ``PaneReader/changes(prefix:after:)``.
public struct ReaderChanges: AsyncSequence, Sendable {
    public typealias Element = WatchEvent

    let reader: PaneReader
    let prefix: String
    let position: WatchPosition?

    init(reader: PaneReader, prefix: String, after position: WatchPosition?) {
        self.reader = reader
        self.prefix = prefix
        self.position = position
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(reader: reader, prefix: prefix, position: position)
    }

    /// Reads a page of the change log at a time; between pages that bring nothing, sleeps until
    /// the file changes.
    public struct Iterator: AsyncIteratorProtocol {
        let reader: PaneReader
        let prefix: String
        let position: WatchPosition?
        var feed: ChangeFeed?
        var buffer: [WatchEvent] = []

        init(reader: PaneReader, prefix: String, position: WatchPosition?) {
            self.reader = reader
            self.prefix = prefix
            self.position = position
        }

        /// The next event; nil once the task is cancelled. Throws what SQLite throws.
        public mutating func next() async throws -> WatchEvent? {
            var feed = try self.feed ?? ChangeFeed(reader: reader.reader, prefix: prefix, after: position)
            defer { self.feed = feed }
            while buffer.isEmpty {
                if Task.isCancelled { return nil }
                let generation = reader.signal.generation
                buffer = try feed.next()
                if buffer.isEmpty {
                    // Woken by the file's changes; five seconds are a safety net, not the pace.
                    await reader.signal.wait(past: generation, until: .now + .seconds(5))
                }
            }
            return buffer.removeFirst()
        }
    }
}
