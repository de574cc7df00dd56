import Foundation

extension Scenario {
    /// Reads and validates a scenario file; the default name is the file's name without `.json`.
    public static func load(path: String) throws -> Scenario {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ScenarioError(field: "", reason: "cannot read \(path)")
        }
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        do {
            return try parse([UInt8](data), defaultName: name)
        } catch {
            throw ScenarioError(field: error.field, reason: "\(error.reason) (in \(path))")
        }
    }
}
