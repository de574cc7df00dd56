import Foundation
import PaneApp

/// A Server-Sent Events client for `GET /v1/watch`, on raw sockets and a thread of its own: it
/// connects, reads the status and headers, then collects events until the server ends the
/// stream or ``close()`` is called. It keeps the view the events describe (`put` sets a
/// context's version, `delete` removes it, `reset` clears everything) and checks that event
/// positions never go backwards.
public final class WatchClient: Sendable {
    public typealias Event = EventStreamClient.Event

    struct State {
        var events: [Event] = []
        var view: [String: Int64] = [:]
        var ended = false
        var endReason = ""
        var lastID: String?
        var backwards: [String] = []
        var lastChange: Int64 = -1
        var file: String?
    }

    public var status: Int { client.status }
    public var headers: [String: String] { client.headers }
    /// The body of a non-`200` answer.
    public var text: String { client.text }
    private let client: EventStreamClient
    private let reading: Bool
    private let state = Locked(State())

    /// Opens a watch of `prefix` at `port`. With `read: false` the client never reads the body
    /// (a slow reader), and `receiveBuffer` shrinks its socket's buffer.
    public static func open(
        port: Int, prefix: String, lastEventID: String? = nil, headers: [String: String] = [:], read: Bool = true, receiveBuffer: Int? = nil
    ) throws -> WatchClient {
        var all = headers
        if let lastEventID { all["Last-Event-ID"] = lastEventID }
        let path = "/v1/watch?prefix=\(prefix.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? prefix)"
        let stream = try EventStreamClient(port: port, path: path, headers: all, receiveBuffer: receiveBuffer)
        let client = WatchClient(client: stream, reading: stream.status == 200 && read)
        if client.reading {
            let thread = Thread {
                let reason = client.client.run { client.apply($0) }
                client.state.withLock { state in
                    state.ended = true
                    state.endReason = reason
                }
            }
            thread.name = "test-watch"
            thread.start()
        }
        return client
    }

    private init(client: EventStreamClient, reading: Bool) {
        self.client = client
        self.reading = reading
    }

    /// Events received so far.
    public var events: [Event] { state.value.events }
    /// The contexts and versions the events describe.
    public var view: [String: Int64] { state.value.view }
    /// Whether the stream ended (the server closed or finished it, or ``close()``).
    public var ended: Bool { state.value.ended }
    /// How it ended: `finished` (the server ended the body), `closed` (the connection dropped).
    public var endReason: String { state.value.endReason }
    /// The id of the last event that had one: what a reconnect sends as `Last-Event-ID`.
    public var lastID: String? { state.value.lastID }
    /// Events whose position was below an earlier one's (described), on one file.
    public var backwards: [String] { state.value.backwards }
    /// Events named `name`.
    public func count(_ name: String) -> Int { state.value.events.filter { $0.name == name }.count }

    /// Carries on the position checks of `previous` (a reconnect continues its positions).
    public func continues(_ previous: WatchClient) {
        let earlier = previous.state.value
        state.withLock { state in
            if state.file == nil || state.file == earlier.file { state.lastChange = max(state.lastChange, earlier.lastChange) }
            state.file = state.file ?? earlier.file
        }
    }

    /// Closes the connection; the reading thread ends.
    public func close() {
        client.close(running: reading)
    }

    private func apply(_ event: Event) {
        state.withLock { state in
            state.events.append(event)
            if let id = event.id {
                state.lastID = id
                let parts = id.split(separator: ".")
                if parts.count == 3, let change = Int64(parts[2]) {
                    let file = String(parts[1])
                    if state.file == file, change < state.lastChange {
                        state.backwards.append("\(event.name) \(id) after change \(state.lastChange)")
                    }
                    if state.file != file { state.lastChange = -1 }
                    state.file = file
                    state.lastChange = max(state.lastChange, change)
                }
            }
            switch event.name {
            case "reset": state.view = [:]
            case "put", "delete":
                guard let object = try? JSONSerialization.jsonObject(with: Data(event.data.utf8)) as? [String: Any],
                    let contextID = object["id"] as? String, let version = (object["version"] as? NSNumber)?.int64Value
                else { return }
                if event.name == "put" { state.view[contextID] = version } else { state.view[contextID] = nil }
            default: break
            }
        }
    }
}
