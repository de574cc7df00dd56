/// Why an ``HTTPProbe`` request failed: the connection, the socket or the reply.
public struct HTTPProbeError: Error, Sendable, CustomStringConvertible {
    public let description: String

    init(_ description: String) { self.description = description }
}
