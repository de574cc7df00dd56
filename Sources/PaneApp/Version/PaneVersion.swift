/// The version `pane --version` prints, kept in this one place. Raise it with each release.
public enum PaneVersion {
    public static let number = "0.11.0"
}
