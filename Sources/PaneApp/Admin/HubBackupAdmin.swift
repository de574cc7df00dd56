import Foundation
import PaneCore
import PaneStore

/// `pane admin backup-hub`: a consistent copy of the hub file while the hub runs
/// (``HubBackup/backup(database:to:)``). Blocking: call it from a thread of its own.
public enum HubBackupAdmin {
    /// What a backup holds.
    public struct Summary: Sendable, Encodable {
        public var backup: String
        public var hubID: String
        public var contexts: Int
        public var lastSeqs: [String: UInt64]

        /// One line for people.
        public var line: String {
            let seqs = lastSeqs.sorted { $0.key < $1.key }.map { "\($0.key) seq \($0.value)" }.joined(separator: ", ")
            return "\(contexts) contexts, hub \(hubID), \(seqs)"
        }
    }

    public static func backup(database: String, to target: String) throws -> Summary {
        do {
            let contents = try HubBackup.backup(database: database, to: target)
            return summary(contents, path: target)
        } catch let error as HubBackupError {
            throw AdminError.badFile(error.description)
        }
    }

    /// The regions a backup holds, to resolve their Redis before a restore.
    public static func regions(ofBackup path: String) throws -> [Region] {
        do { return try HubBackup.contents(of: path).regions } catch let error as HubBackupError {
            throw AdminError.badFile(error.description)
        }
    }

    static func summary(_ contents: HubBackup.Contents, path: String) -> Summary {
        Summary(
            backup: path, hubID: contents.hubID, contexts: contents.contexts,
            lastSeqs: Dictionary(uniqueKeysWithValues: contents.lastSeqs.map { ($0.key.name, $0.value) }))
    }
}
