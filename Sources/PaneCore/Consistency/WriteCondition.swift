/// A hub write's precondition, from `If-Match` or `If-None-Match` (etcd's transactions,
/// Consul's `?cas=`): how a control plane avoids lost updates.
public enum WriteCondition: Sendable, Equatable {
    /// `If-Match: "N"`: write only if the context's current version is N (and it is live).
    case version(Int64)
    /// `If-Match: *`: write only if the context exists (live).
    case exists
    /// `If-None-Match: *`: create only: write only if the context does not exist (or is deleted).
    case absent

    /// Whether a context at `version` (0 when it never existed), `deleted` or not, meets it.
    public func holds(version: Int64, deleted: Bool) -> Bool {
        let live = version > 0 && !deleted
        switch self {
        case .version(let expected): return live && version == expected
        case .exists: return live
        case .absent: return !live
        }
    }

    /// The condition of a write's headers; nil without one. Errors name the header.
    public static func parse(ifMatch: String?, ifNoneMatch: String?) throws(ValidationError) -> WriteCondition? {
        if let ifMatch, ifNoneMatch != nil {
            throw ValidationError(input: "If-Match", value: ifMatch, reason: "give If-Match or If-None-Match, not both")
        }
        if let value = ifNoneMatch.map({ Substring($0).trimmingCharacters(in: " ") }) {
            guard value == "*" else {
                throw ValidationError(input: "If-None-Match", value: value, reason: "a write takes If-None-Match: * (create only)")
            }
            return .absent
        }
        guard let value = ifMatch.map({ Substring($0).trimmingCharacters(in: " ") }) else { return nil }
        if value == "*" { return .exists }
        guard value.count >= 3, value.hasPrefix("\""), value.hasSuffix("\""), let version = Int64(value.dropFirst().dropLast()), version >= 1 else {
            throw ValidationError(input: "If-Match", value: value, reason: "a version as the ETag gives it, such as \"3\", or *")
        }
        return .version(version)
    }
}
