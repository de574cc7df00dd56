/// Hides secrets in values a command prints (`pane config check`), keeping the rest readable.
public enum SecretMasking {
    /// A URL with its password replaced by `****`: `redis://user:s3cret@host:6379` becomes
    /// `redis://user:****@host:6379`, and `redis://:s3cret@host` becomes `redis://:****@host`.
    /// A URL without a password is returned as it is.
    public static func url(_ text: String) -> String {
        guard let scheme = text.range(of: "://") else { return text }
        let rest = text[scheme.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@") else { return text }
        let userInfo = authority[..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return text }
        return String(text[..<scheme.upperBound]) + userInfo[..<colon] + ":****" + text[at...]
    }
}
