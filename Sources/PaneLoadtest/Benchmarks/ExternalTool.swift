import Foundation

/// Runs a measuring tool of the machine's own (`redis-benchmark`, `wrk`) to completion and
/// returns what it printed on stdout; stderr is dropped.
enum ExternalTool {
    static func output(_ binary: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
