/// The password in a `redis.passwordFile`: its first line, without the line end. Pure, so the
/// rules are tested without files.
public enum RedisPasswordText {
    /// The password `text` holds, or the reason it holds none (never the text itself).
    ///
    /// The first line is the password, exactly, but for its `\n` or `\r\n`; spaces count
    /// (Redis passwords may have them). An empty first line, or more non-empty lines, are refused:
    /// either is more likely a wrong file than a password.
    public static func parse(_ text: String) -> Result<String, ValidationError> {
        // `\r\n` is one Character in Swift, a newline like `\n`.
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        while let last = lines.last, last.isEmpty, lines.count > 1 { lines.removeLast() }
        guard let first = lines.first, !first.isEmpty else {
            return .failure(ValidationError(input: "", value: "", reason: "the file is empty: write the password on its first line"))
        }
        guard lines.count == 1 else {
            return .failure(ValidationError(input: "", value: "", reason: "the file has \(lines.count) lines: write the password alone on one line"))
        }
        guard !first.contains(where: { $0 == "\0" }) else {
            return .failure(ValidationError(input: "", value: "", reason: "the password contains a NUL byte"))
        }
        return .success(String(first))
    }

    /// Whether a file with these permission bits may be read by every user of the machine.
    public static func isWorldReadable(mode: UInt32) -> Bool { mode & 0o004 != 0 }
}
