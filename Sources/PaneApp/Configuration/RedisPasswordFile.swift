import Foundation
import PaneCore

#if canImport(Glibc)
    import Glibc
#endif

/// Reads `redis.passwordFile`: the Redis password, kept out of `ps` and out of config files.
public enum RedisPasswordFile {
    /// The password the file at `path` holds (``PaneCore/RedisPasswordText``). Errors name the
    /// setting and the file, never the password: a missing, unreadable or empty file, or one that
    /// every user of the machine may read (`chmod o-rwx` it).
    public static func read(_ path: String, setting: String) throws(ValidationError) -> String {
        func bad(_ reason: String) -> ValidationError { ValidationError(input: "setting \(setting)", value: path, reason: reason) }
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw bad(errno == ENOENT ? "no such file" : "cannot read it: \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw bad("not a regular file") }
        if RedisPasswordText.isWorldReadable(mode: UInt32(info.st_mode)) {
            throw bad("every user of this machine may read it: chmod o-rwx it (0600 or 0640)")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw bad("cannot read it") }
        guard let text = String(data: data, encoding: .utf8) else { throw bad("not UTF-8 text") }
        switch RedisPasswordText.parse(text) {
        case .success(let password): return password
        case .failure(let error): throw bad(error.reason)
        }
    }
}
