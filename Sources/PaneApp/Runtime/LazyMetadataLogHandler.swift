import Logging

/// swift-log's `StreamLogHandler` (the same lines on stderr), but metadata set on a logger is
/// only stored, and turned into text when a line is written. `StreamLogHandler` formats all of
/// its metadata each time one key is set, and Hummingbird sets `hb.request.id` on every request's
/// logger: 4–5% of a spoke's CPU per read (docs/benchmarks.md, issue 13 reads), for lines that
/// are almost never written at the default level.
public struct LazyMetadataLogHandler: LogHandler {
    /// Writes the lines; its own metadata stays empty until one is written.
    private var stream: StreamLogHandler
    public var metadata: Logger.Metadata = [:]

    /// Lines to stderr, as `StreamLogHandler.standardError(label:)` writes them.
    public init(label: String, level: Logger.Level) {
        stream = StreamLogHandler.standardError(label: label)
        stream.logLevel = level
    }

    /// Lines to `output` (tests).
    public init(label: String, level: Logger.Level, output: any TextOutputStream & Sendable) {
        stream = StreamLogHandler(label: label, stream: output)
        stream.logLevel = level
    }

    public var logLevel: Logger.Level {
        get { stream.logLevel }
        set { stream.logLevel = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { stream.metadataProvider }
        set { stream.metadataProvider = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var handler = stream
        if !metadata.isEmpty { handler.metadata = metadata }
        handler.log(event: event)
    }
}
