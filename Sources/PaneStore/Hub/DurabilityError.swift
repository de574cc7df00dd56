import Foundation

/// The hub could not make its commits durable before publishing them.
public struct DurabilityError: Error, CustomStringConvertible {
    public let path: String
    public let call: String
    public let code: Int32

    public var description: String { "cannot sync the hub's WAL \(path): \(call) failed: \(String(cString: strerror(code)))" }
}
