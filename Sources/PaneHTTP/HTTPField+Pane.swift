import HTTPTypes

extension HTTPField.Name {
    /// The highest region seq the replica has applied.
    public static let paneReplicaSeq = pane("Replica-Seq")
    /// Milliseconds since the worker last read from the region stream, or `never`.
    public static let paneContactAge = pane("Contact-Age-Ms")
    /// Present (`1`) when a dead-lettered update may have left this context behind the hub.
    public static let paneStale = pane("Stale")
    /// A position token (``PaneCore/PositionToken``): where a hub write landed, or how far a
    /// replica has applied.
    public static let paneIndex = pane("Index")
    /// A reader's condition: the answer must reflect at least this position.
    public static let paneMinIndex = pane("Min-Index")
    /// Where the answer came from: `replica` or `hub`.
    public static let paneSource = pane("Source")
    /// The replica's version of the context, on a `412` answer.
    public static let paneReplicaVersion = pane("Replica-Version")

    /// Server-Sent Events: the id of the last event a reconnecting watcher received.
    public static let lastEventID = HTTPField.Name("Last-Event-ID") ?? .server
    /// Asks a buffering proxy (nginx) to pass a watch's events on at once.
    public static let xAccelBuffering = HTTPField.Name("X-Accel-Buffering") ?? .server

    /// `Pane-<suffix>`. The suffixes above are letters and dashes, always valid tokens, so the
    /// fallback is never taken; it exists only to avoid a force-unwrap.
    private static func pane(_ suffix: String) -> HTTPField.Name {
        HTTPField.Name("Pane-\(suffix)") ?? .server
    }
}
