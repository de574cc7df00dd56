import Foundation

/// Polls `condition` every `poll` seconds until it holds or `seconds` pass; the last answer counts.
public func eventually(_ seconds: Double, poll: Double = 0.1, _ condition: () throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        try? await Task.sleep(for: .milliseconds(Int(poll * 1000)))
    }
    return try condition()
}
