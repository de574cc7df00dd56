/// The one rule every replica applies: an update wins iff its version is greater than the
/// stored one. Deletes are tombstones that carry a version, so they take part in the same
/// comparison.
///
/// Because of this rule, duplicates, redelivery, replays and reordering between workers are
/// all harmless. The replica store implements the same comparison in SQL
/// (`... DO UPDATE ... WHERE excluded.version > contexts.version`); its tests check that both agree.
public enum ApplyRule {
    /// What to do with an incoming version given the stored one (`nil`: never seen).
    public enum Decision: Sendable, Equatable {
        /// Store the update (insert, overwrite, or tombstone).
        case apply
        /// Keep what is stored: the update is a duplicate or older.
        case ignore
    }

    /// Decides whether `incoming` replaces `stored`.
    public static func decide(incoming: Int64, stored: Int64?) -> Decision {
        guard let stored else { return .apply }
        return incoming > stored ? .apply : .ignore
    }
}
