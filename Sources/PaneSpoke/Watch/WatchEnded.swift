/// Why a watch answer ended without finishing its body: the connection is closed.
enum WatchEnded: Error {
    /// The client did not read for `spoke.watchWriteTimeoutMs`.
    case cutOff
    /// A write failed: the client went away.
    case gone
}
