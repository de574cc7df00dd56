import Dispatch
import Foundation
import Logging
import PaneCore
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The tokens of a tokens file (``PaneCore/TokenFile``), kept current: the file is read again
/// on SIGHUP and when its modification time, size or inode changes (checked once a second).
/// A file that cannot be read or parsed on reload keeps the old tokens, and the log says why;
/// at start it is an error (``TokenFileLoadError``), so the process refuses to start.
///
/// The checks run on a dispatch queue of their own from ``init(path:logger:)`` on, so a SIGHUP
/// is handled (never fatal) as soon as the process can answer requests. As a `Service` it only
/// waits for shutdown, then stops the checks. Tokens are never logged, only how many each
/// role has.
public final class TokenFileWatcher: Service, Sendable, CustomStringConvertible {
    public let path: String
    let logger: Logger
    private let state: Mutex<State>
    private let queue = DispatchQueue(label: "pane-tokens")

    private struct State {
        var tokens: TokenSet
        var stamp: FileStamp?
    }

    /// The SIGHUP source and the timer. Dispatch sources are thread-safe (resume and cancel may
    /// be called from any thread), but corelibs-libdispatch does not mark them `Sendable`.
    private final class Sources: @unchecked Sendable {
        let all: [any DispatchSourceProtocol]
        init(_ all: [any DispatchSourceProtocol]) { self.all = all }
    }

    private let sources: Mutex<Sources?> = Mutex(nil)

    /// Reads `path` now; throws when it cannot be read or parsed.
    public init(path: String, logger: Logger, checkEveryMs: Int = 1_000) throws(TokenFileLoadError) {
        self.path = path
        self.logger = logger
        let stamp = FileStamp(path: path)
        let tokens = try Self.read(path)
        state = Mutex(State(tokens: tokens, stamp: stamp))
        if tokens.isEmpty { logger.warning("the tokens file has no tokens: every request but /healthz and /readyz is refused", metadata: ["file": "\(path)"]) }
        logger.info("tokens loaded", metadata: ["file": "\(path)", "tokens": "\(tokens.summary)"])
        warnIfShared(stamp)
        startChecks(everyMs: checkEveryMs)
    }

    /// The tokens in force.
    public var current: TokenSet { state.withLock { $0.tokens } }

    public var description: String { "tokens \(path)" }

    /// Waits for shutdown (or cancellation), then stops the checks.
    public func run() async throws {
        try? await gracefulShutdown()
        stop()
    }

    /// Stops the checks; the tokens stay in force.
    public func stop() {
        let box = sources.withLock { current in
            defer { current = nil }
            return current
        }
        for source in box?.all ?? [] { source.cancel() }
    }

    /// Reads the file again when `force` (SIGHUP) or when it changed since the last read.
    /// Returns whether new tokens are in force.
    @discardableResult
    public func check(force: Bool, reason: String) -> Bool {
        let stamp = FileStamp(path: path)
        let changed = state.withLock { state in
            defer { state.stamp = stamp }
            return state.stamp != stamp
        }
        guard force || changed else { return false }
        do {
            let tokens = try Self.read(path)
            state.withLock { $0.tokens = tokens }
            logger.notice("tokens reloaded", metadata: ["file": "\(path)", "reason": "\(reason)", "tokens": "\(tokens.summary)"])
            warnIfShared(stamp)
            return true
        } catch {
            logger.error(
                "the tokens file cannot be used, keeping the old tokens",
                metadata: ["file": "\(path)", "reason": "\(reason)", "error": "\(error.reason)"])
            return false
        }
    }

    /// Other users can read the file: the tokens are as secret as its permissions.
    private func warnIfShared(_ stamp: FileStamp?) {
        guard let stamp, stamp.mode & 0o077 != 0 else { return }
        logger.warning(
            "other users may read or write the tokens file: chmod 600 it",
            metadata: ["file": "\(path)", "mode": "\(String(stamp.mode & 0o777, radix: 8))"])
    }

    private func startChecks(everyMs: Int) {
        // Handled by the dispatch source instead of ending the process (SIGHUP's default). Only
        // when nobody handles it yet: a dispatch source made before this one (`pane dev`'s
        // service group listens to SIGHUP) installed libdispatch's handler, and SIG_IGN would
        // replace it, so that neither source would ever hear SIGHUP again.
        var disposition = sigaction()
        if sigaction(SIGHUP, nil, &disposition) == 0, disposition.__sigaction_handler.sa_handler == nil {
            signal(SIGHUP, SIG_IGN)
        }
        let hangup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: queue)
        hangup.setEventHandler { [weak self] in self?.check(force: true, reason: "SIGHUP") }
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + .milliseconds(everyMs), repeating: .milliseconds(everyMs), leeway: .milliseconds(100))
        timer.setEventHandler { [weak self] in self?.check(force: false, reason: "file changed") }
        hangup.resume()
        timer.resume()
        let box = Sources([hangup, timer])
        sources.withLock { $0 = box }
    }

    static func read(_ path: String) throws(TokenFileLoadError) -> TokenSet {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw TokenFileLoadError(path: path, reason: "cannot read the file: \(Self.readFailure(path))")
        }
        do { return try TokenFile.parse(text) } catch { throw TokenFileLoadError(path: path, reason: error.description) }
    }

    /// Why a file cannot be read, in the system's words.
    private static func readFailure(_ path: String) -> String {
        let fd = open(path, O_RDONLY)
        if fd < 0 { return String(cString: strerror(errno)) }
        close(fd)
        return "not UTF-8 text"
    }
}

/// What identifies one version of a file without reading it: modification time, size, inode.
struct FileStamp: Equatable, Sendable {
    let seconds: Int
    let nanoseconds: Int
    let size: Int64
    let inode: UInt64
    /// The permission bits, for the warning; not part of a version.
    let mode: UInt32

    static func == (a: FileStamp, b: FileStamp) -> Bool {
        a.seconds == b.seconds && a.nanoseconds == b.nanoseconds && a.size == b.size && a.inode == b.inode
    }

    /// `nil` when the file cannot be stat'ed.
    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        seconds = info.st_mtim.tv_sec
        nanoseconds = info.st_mtim.tv_nsec
        size = Int64(info.st_size)
        inode = UInt64(info.st_ino)
        mode = UInt32(info.st_mode)
    }
}

/// A tokens file that cannot be used: the path, and the line at fault (or why it cannot be read).
public struct TokenFileLoadError: Error, Sendable, CustomStringConvertible {
    public let path: String
    /// `line 3: unknown role (…)`, or why the file cannot be read. Never the file's text.
    public let reason: String

    public var description: String { "tokens file \(path): \(reason)" }
}
