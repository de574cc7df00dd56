/// When a hub commit reaches the disk (`hub.durability`). Either way no row is published before
/// its commit is durable, so a hub that loses power never hands out a seq or version that a
/// replica has already seen with another body.
public enum HubDurability: String, Sendable, CaseIterable {
    /// `PRAGMA synchronous = FULL`: every commit syncs the WAL before it returns, so a write is
    /// durable before its client gets the answer, and before the publisher can see it.
    case full
    /// `PRAGMA synchronous = NORMAL`, and the publisher syncs the WAL file once per round, before
    /// the round goes out (``HubStore/syncBeforePublish()``). Commits are faster; a write that
    /// was answered but not yet published can be lost on power loss (never one a replica saw).
    case syncBeforePublish = "sync-before-publish"
}
