/// A test could not be set up or a process it depends on failed; the description says which.
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
