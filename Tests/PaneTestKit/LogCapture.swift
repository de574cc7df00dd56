import Logging

/// Keeps every log message, for tests that check what was logged.
public final class LogCapture: Sendable {
    public struct Message: Sendable {
        public let level: Logger.Level
        public let text: String
        public let metadata: String
    }

    private let storage = Locked<[Message]>([])

    public init() {}

    public var messages: [Message] { storage.value }

    /// A logger (level info) whose messages land here.
    public var logger: Logger {
        Logger(label: "pane.test.capture") { _ in Handler(capture: self) }
    }

    func append(_ message: Message) { storage.withLock { $0.append(message) } }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let text = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            capture.append(Message(level: event.level, text: "\(event.message)", metadata: text))
        }
    }
}
