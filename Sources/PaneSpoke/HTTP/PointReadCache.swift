import PaneCore
import PaneHTTP
import PaneStore
import Synchronization

/// Plain point reads answered from memory while the replica file has not changed.
///
/// Every answer is kept with the file's commit stamp (``PaneStore/CommitStamps``: SQLite's
/// WAL-index header, which every commit of every worker process of the replica rewrites). A
/// read first looks at the stamp: the same as the cached answers', and nothing was committed
/// since they were read, so they are the file as it is; another, and they are all dropped. An
/// answer is kept only when the stamp was the same before and after its read, so it comes from
/// that very commit. No read ever answers older data than the file held when it arrived.
///
/// Keyed by the id as it came in the path (before percent-decoding), so a hit skips the
/// decoding and validation too: a key is stored only after its id was valid. Bounded by
/// ``maxBytes``: when full, new answers are served but not kept until the next commit empties it.
final class PointReadCache: Sendable {
    /// The answers' bytes (bodies, ETags, keys) at most.
    static let maxBytes = 8 << 20

    private struct State {
        var stamp: CommitStamps.Stamp?
        var answers: [Substring: PointAnswer] = [:]
        var bytes = 0
    }

    private let stamps: CommitStamps?
    private let state = Mutex(State())

    /// `stamps` nil (the file is not in WAL mode): every read goes to the file.
    init(stamps: CommitStamps?) {
        self.stamps = stamps
    }

    /// The answer for the path's raw id: cached, or from `read` (then kept).
    func answer(raw: Substring, read: (ContextID) throws -> ReplicaRead) throws -> PointAnswer {
        guard let stamps, let before = stamps.current() else { return try Self.read(raw: raw, read) }
        let hit = state.withLock { state -> PointAnswer? in
            guard state.stamp == before else {
                state = State(stamp: before)
                return nil
            }
            return state.answers[raw]
        }
        if let hit { return hit }
        let answer = try Self.read(raw: raw, read)
        guard stamps.current() == before else { return answer }
        let size = answer.bytes + raw.utf8.count
        state.withLock { state in
            guard state.stamp == before, state.bytes + size <= Self.maxBytes else { return }
            state.answers[Substring(String(raw))] = answer
            state.bytes += size
        }
        return answer
    }

    private static func read(raw: Substring, _ read: (ContextID) throws -> ReplicaRead) throws -> PointAnswer {
        let id = try PaneHTTP.contextID(raw: raw)
        return PointAnswer(id: id, read: try read(id))
    }

    /// How many answers are kept now (tests).
    var count: Int { state.withLock { $0.answers.count } }
}
