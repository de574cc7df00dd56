import Foundation

/// Writes `report.json`, `report.md` and `report.svg` into a folder.
public enum ReportWriter {
    /// Writes the three files into `directory` (created when missing); returns their paths.
    @discardableResult
    public static func write(_ report: LoadReport, to directory: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let paths = ["\(directory)/report.json", "\(directory)/report.md", "\(directory)/report.svg"]
        try encoder.encode(report).write(to: URL(fileURLWithPath: paths[0]))
        try report.markdown.write(toFile: paths[1], atomically: true, encoding: .utf8)
        try report.svg.write(toFile: paths[2], atomically: true, encoding: .utf8)
        return paths
    }
}
