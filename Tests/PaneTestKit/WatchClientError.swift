/// A watch could not be opened: the message says why.
public struct WatchClientError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
