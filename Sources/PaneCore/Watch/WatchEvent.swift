/// One event of a watch or of a ``PaneReader`` change sequence.
///
/// A context's changes are folded: a watcher gets the latest state of each context changed
/// since its position, not every version in between.
public enum WatchEvent: Sendable, Equatable {
    /// A live context at `version`, with its JSON `body`, changed at `position`.
    case put(id: String, version: Int64, body: [UInt8], position: WatchPosition)
    /// A context deleted (a tombstone at `version`, or a row a snapshot removed; `version` is
    /// then the last version the replica held), at `position`.
    case delete(id: String, version: Int64, position: WatchPosition)
    /// Every context under the prefix has been sent as of `position` (after the first transfer,
    /// and after a resume's catch-up).
    case synced(position: WatchPosition)
    /// Nothing under the prefix changed up to `position` (a keep-alive that moves the position on).
    case progress(position: WatchPosition)
    /// The position given cannot be resumed (``WatchStart/reset(reason:)``): a full transfer follows.
    case reset(reason: String)

    /// The event's position, if it has one.
    public var position: WatchPosition? {
        switch self {
        case .put(_, _, _, let position), .delete(_, _, let position), .synced(let position), .progress(let position): position
        case .reset: nil
        }
    }

    /// The event's name on the wire (`event:` of Server-Sent Events).
    public var name: String {
        switch self {
        case .put: "put"
        case .delete: "delete"
        case .synced: "synced"
        case .progress: "progress"
        case .reset: "reset"
        }
    }

    /// The event as Server-Sent Events text (`event:`, `id:`, one `data:` line of JSON, a blank
    /// line). `index` is the replica's `Pane-Index` token, added to `synced` and `progress`.
    ///
    /// `data` is one line: context bodies are stored as written but a JSON body never holds a raw
    /// newline outside a string and strings escape them, so a body's own line breaks are the
    /// only ones; they are replaced by spaces, which JSON reads the same.
    public func serverSentEvent(index: String? = nil) -> [UInt8] {
        var out = Array("event: \(name)\n".utf8)
        if let position { out += Array("id: \(position.encoded)\n".utf8) }
        out += Array("data: ".utf8)
        switch self {
        case .put(let id, let version, let body, _):
            out += Array("{\"id\":\(JSONText.quote(id)),\"version\":\(version),\"body\":".utf8)
            out += body.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 }
            out.append(UInt8(ascii: "}"))
        case .delete(let id, let version, _):
            out += Array("{\"id\":\(JSONText.quote(id)),\"version\":\(version)}".utf8)
        case .synced(let position), .progress(let position):
            out += Array("{\"position\":\(JSONText.quote(position.encoded)),\"index\":\(index.map(JSONText.quote) ?? "null")}".utf8)
        case .reset(let reason):
            out += Array("{\"reason\":\(JSONText.quote(reason))}".utf8)
        }
        out += Array("\n\n".utf8)
        return out
    }
}
