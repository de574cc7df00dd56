import HTTPTypes

extension HTTPField.Name {
    /// The highest region seq the replica has applied.
    public static let paneReplicaSeq = pane("Replica-Seq")
    /// Milliseconds since the worker last read from the region stream, or `never`.
    public static let paneContactAge = pane("Contact-Age-Ms")
    /// Present (`1`) when a dead-lettered update may have left this context behind the hub.
    public static let paneStale = pane("Stale")

    /// `Pane-<suffix>`. The suffixes above are letters and dashes, always valid tokens, so the
    /// fallback is never taken; it exists only to avoid a force-unwrap.
    private static func pane(_ suffix: String) -> HTTPField.Name {
        HTTPField.Name("Pane-\(suffix)") ?? .server
    }
}
