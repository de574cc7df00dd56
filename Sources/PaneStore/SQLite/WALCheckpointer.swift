import Dispatch
import GRDB
import GRDBSQLite
import Synchronization

/// Runs a WAL file's checkpoints on a queue of its own, off the commit path.
///
/// SQLite's `wal_autocheckpoint` runs the checkpoint inside the commit that takes the WAL past
/// its mark: that commit (a hub group commit, a replica's batch) waits while pages are copied
/// back into the database file and both files are synced, and every write queued behind it
/// waits too (the p99 of `batch` and `steady`, docs/benchmarks.md). Installed on a pool's writer
/// connection, this replaces that hook (``install(on:)``): a commit that leaves the WAL at
/// ``thresholdFrames`` or more only schedules a `PASSIVE` checkpoint on the background queue,
/// through a connection of its own, and returns. A checkpoint never changes what a commit made
/// durable: the commit's own WAL sync (`synchronous`) is untouched, and a checkpoint syncs the WAL
/// before it copies and the database file after, as the inline one does.
///
/// Commits made while a background checkpoint runs keep the WAL from restarting: once a pass is
/// done, the next commit schedules another pass, which copies what the last one left; the WAL
/// restarts at the first write after a pass that found no commit behind it (a pause between two
/// commits). Only when ``backgroundTries`` passes in a row found none (commits without pause)
/// does a commit copy the small rest itself (at most ``finishFrames``), so the WAL still
/// restarts. Should it reach ``inlineFrames`` (the queue cannot keep up, or cannot open the
/// file), the commit checkpoints inline as SQLite's own hook would, so the WAL stays bounded.
public final class WALCheckpointer: Sendable {
    /// The database file checkpointed.
    public let path: String
    /// Frames in the WAL after a commit that schedule a background checkpoint.
    public let thresholdFrames: Int
    /// Frames in the WAL after a commit that make the commit checkpoint inline.
    public let inlineFrames: Int
    private let queue = DispatchQueue(label: "pane-wal-checkpoint", qos: .utility)
    private let scheduled = Atomic<Bool>(false)
    /// The checkpoint connection, opened on the queue at its first checkpoint; only used there.
    private let connection = Mutex<OpaquePointer?>(nil)
    private let backgroundCount = Atomic<UInt64>(0)
    private let inlineCount = Atomic<UInt64>(0)
    private let lastFrames = Atomic<Int>(0)
    private let finishCount = Atomic<UInt64>(0)
    /// The frames the last background pass copied since the WAL crossed the mark; -1 for none.
    private let copied = Atomic<Int>(-1)
    /// Background passes since the WAL crossed the mark (back to 0 when it restarts).
    private let passes = Atomic<Int>(0)
    /// Background passes that may try to copy the whole WAL before a commit copies the rest
    /// itself. A commit that copies holds up the writes queued behind it (the hub's `batch` p99,
    /// docs/benchmarks.md), so the background gets several chances to find a pause first.
    public let backgroundTries = 4

    /// A checkpointer for `path` that schedules at `thresholdFrames` frames (SQLite's
    /// `wal_autocheckpoint`) and checkpoints inline at `inlineFrames` (twice that by default).
    public init(path: String, thresholdFrames: Int, inlineFrames: Int? = nil) {
        self.path = path
        self.thresholdFrames = max(1, thresholdFrames)
        self.inlineFrames = max(self.thresholdFrames, inlineFrames ?? 2 * thresholdFrames)
    }

    deinit {
        connection.withLock { handle in
            if let open = handle { sqlite3_close_v2(open) }
            handle = nil
        }
    }

    /// Installs the commit hook on `db`, a pool's writer connection (replacing its
    /// `wal_autocheckpoint`). The hook holds the checkpointer weakly: once the store that owns
    /// it is gone, a commit on the connection (there should be none) checkpoints inline at
    /// SQLite's default mark.
    public func install(on db: Database) {
        let context = Unmanaged.passRetained(WeakCheckpointer(self)).toOpaque()
        sqlite3_wal_hook(db.sqliteConnection, walHook, context)
    }

    /// Background checkpoints run so far.
    public var backgroundCheckpoints: UInt64 { backgroundCount.load(ordering: .relaxed) }
    /// Commits that checkpointed inline because the WAL reached ``inlineFrames``.
    public var inlineCheckpoints: UInt64 { inlineCount.load(ordering: .relaxed) }
    /// Commits that copied the rest a background pass left (at most ``finishFrames``), after
    /// ``backgroundTries`` passes found no pause between commits.
    public var finishingCheckpoints: UInt64 { finishCount.load(ordering: .relaxed) }
    /// The most a commit copies after a background pass: an eighth of the mark.
    public var finishFrames: Int { max(1, thresholdFrames / 8) }

    /// The WAL's frames after the last commit on the writer connection (small again once the
    /// WAL restarted after a complete checkpoint).
    public var framesAtLastCommit: Int { lastFrames.load(ordering: .relaxed) }

    /// Called by the hook after every commit on the writer connection, with the WAL's frames.
    ///
    /// The WAL restarts (and stops growing) only at a write that finds it completely copied, and
    /// a background pass cannot copy the commits made while it runs. So once a pass is done and
    /// what it left is small (at most ``finishFrames``), the commit copies that rest itself:
    /// a short inline checkpoint instead of the whole WAL's. While the rest is larger, another
    /// background pass copies it first.
    fileprivate func committed(db: OpaquePointer?, name: UnsafePointer<CChar>?, frames: Int) {
        lastFrames.store(frames, ordering: .relaxed)
        guard frames >= thresholdFrames else {
            copied.store(-1, ordering: .relaxed)  // restarted: the next crossing starts afresh
            passes.store(0, ordering: .relaxed)
            return
        }
        if frames >= inlineFrames {
            inlineCount.add(1, ordering: .relaxed)
            sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            return
        }
        if scheduled.load(ordering: .acquiring) { return }
        let done = copied.load(ordering: .acquiring)
        if done >= 0 && frames - done <= finishFrames && passes.load(ordering: .relaxed) >= backgroundTries {
            finishCount.add(1, ordering: .relaxed)
            copied.store(-1, ordering: .relaxed)
            passes.store(0, ordering: .relaxed)
            sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
        } else {
            schedule()
        }
    }

    private func schedule() {
        guard scheduled.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        queue.async { [self] in
            defer { scheduled.store(false, ordering: .releasing) }
            guard let db = openConnection() else { return }
            var log: Int32 = 0
            var done: Int32 = 0
            let rc = sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, &log, &done)
            backgroundCount.add(1, ordering: .relaxed)
            passes.add(1, ordering: .relaxed)
            if rc == SQLITE_OK && done >= 0 { copied.store(Int(done), ordering: .releasing) }
        }
    }

    /// The checkpoint connection; `nil` when the file cannot be opened (the inline fallback then
    /// bounds the WAL).
    private func openConnection() -> OpaquePointer? {
        connection.withLock { handle in
            if let open = handle { return open }
            var db: OpaquePointer?
            guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK, let db else {
                if let db { sqlite3_close_v2(db) }
                return nil
            }
            // NORMAL (as FULL) syncs the WAL before a checkpoint copies and the database file after.
            sqlite3_exec(db, "PRAGMA synchronous = NORMAL", nil, nil, nil)
            sqlite3_busy_timeout(db, 1_000)
            handle = db
            return db
        }
    }
}

/// The hook's context: the writer connection outlives nothing it can tell SQLite about, so the
/// hook keeps this small box (one per store) and reaches the checkpointer through it.
private final class WeakCheckpointer {
    weak var checkpointer: WALCheckpointer?
    init(_ checkpointer: WALCheckpointer) { self.checkpointer = checkpointer }
}

private let walHook: @convention(c) (UnsafeMutableRawPointer?, OpaquePointer?, UnsafePointer<CChar>?, Int32) -> Int32 = {
    context, db, name, frames in
    guard let context else { return SQLITE_OK }
    if let checkpointer = Unmanaged<WeakCheckpointer>.fromOpaque(context).takeUnretainedValue().checkpointer {
        checkpointer.committed(db: db, name: name, frames: Int(frames))
    } else if frames >= 1_000 {
        // SQLite's own `wal_autocheckpoint` default.
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
    }
    return SQLITE_OK
}
