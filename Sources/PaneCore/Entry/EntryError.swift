/// Why a stream entry could not be decoded. Every such entry is permanent poison: retrying
/// cannot fix it.
public struct EntryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of problem, stable for metrics labels and dead-letter reasons.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String {
            case badEntryID, seqOutOfRange, seqBeyondHub, refusedSnapshot, missingField, duplicateField, badContextID, badVersion
            case unknownOp, badTimestamp, badBody, bodyTooLarge, checksumMismatch, badMarker, badBatch
        }
        fileprivate let base: Base
        fileprivate init(_ base: Base) { self.base = base }

        public static let badEntryID = Kind(.badEntryID)
        /// The entry id's seq does not fit a signed 64-bit integer.
        public static let seqOutOfRange = Kind(.seqOutOfRange)
        /// The entry id's seq lies beyond the hub's highest seq for the region.
        public static let seqBeyondHub = Kind(.seqBeyondHub)
        /// A `snap` announcement that ``SnapshotGuard`` refuses.
        public static let refusedSnapshot = Kind(.refusedSnapshot)
        public static let missingField = Kind(.missingField)
        public static let duplicateField = Kind(.duplicateField)
        public static let badContextID = Kind(.badContextID)
        public static let badVersion = Kind(.badVersion)
        public static let unknownOp = Kind(.unknownOp)
        public static let badTimestamp = Kind(.badTimestamp)
        public static let badBody = Kind(.badBody)
        public static let bodyTooLarge = Kind(.bodyTooLarge)
        public static let checksumMismatch = Kind(.checksumMismatch)
        /// The `replay` marker holds something other than `1`.
        public static let badMarker = Kind(.badMarker)
        /// The body of a `batch` entry is not a valid ``BatchEntryCodec`` body.
        public static let badBatch = Kind(.badBatch)

        public var description: String { base.rawValue }
    }

    public let kind: Kind
    /// The field at fault (`id` for the entry id).
    public let field: String
    /// A sentence a person can act on.
    public let detail: String

    init(_ kind: Kind, field: String, detail: String) {
        self.kind = kind
        self.field = field
        self.detail = detail
    }

    public var description: String { "\(kind): \(detail)" }
}
