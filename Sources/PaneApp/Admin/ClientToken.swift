import Foundation
import PaneCore

/// The token an admin command sends to the hub: the one token of the file named by
/// `--token-file` or `PANE_TOKEN_FILE` (``PaneCore/TokenFile/single(_:)``).
public enum ClientToken {
    /// The environment variable naming the token file when `--token-file` is not given.
    public static let environmentVariable = "PANE_TOKEN_FILE"

    /// The token of `path`, else of the file `PANE_TOKEN_FILE` names; `nil` when neither is
    /// given. The error names the file and the line, never the token.
    public static func load(
        path: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ValidationError) -> String? {
        guard let path = path ?? environment[environmentVariable] else { return nil }
        return try read(path, input: "token file (--token-file or \(environmentVariable))")
    }

    /// The one token of the file at `path`; errors name `input` (the flag or setting) and the
    /// file, never the token.
    public static func read(_ path: String, input: String) throws(ValidationError) -> String {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ValidationError(input: input, value: path, reason: "cannot read it")
        }
        do { return try TokenFile.single(text) } catch { throw ValidationError(input: input, value: path, reason: error.description) }
    }
}
