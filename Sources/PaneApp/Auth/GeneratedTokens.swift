import Foundation
import PaneCore

/// A tokens file with one fresh random token per role, for the processes `pane dev` and the
/// load-test runner start: they give the file to the hub and the spokes (`--tokens-file`) and
/// send these tokens with their own requests.
public struct GeneratedTokens: Sendable {
    /// The tokens file, readable by its owner only.
    public let path: String
    private let tokens: [Role: String]

    /// Writes a new tokens file at `path` (mode 0600), replacing any file there.
    public static func create(at path: String) throws -> GeneratedTokens {
        var tokens: [Role: String] = [:]
        var text = "# ROLE TOKEN: written by pane for the processes it starts\n"
        for role in Role.allCases {
            let token = randomToken()
            tokens[role] = token
            text += "\(role) \(token)\n"
        }
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        return GeneratedTokens(path: path, tokens: tokens)
    }

    /// The token of `role`.
    public func token(_ role: Role) -> String { tokens[role] ?? "" }

    /// 32 random bytes in hex (64 characters) from the system's generator.
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in
            let byte = UInt8.random(in: 0...255, using: &generator)
            return String(byte, radix: 16).leftPadded(to: 2)
        }.joined()
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
