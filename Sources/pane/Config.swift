import ArgumentParser
import Foundation
import PaneApp
import PaneCore
import PaneHub
import PaneSpoke

extension Pane {
    struct Config: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the settings in force, or print a config file with every key.",
            subcommands: [Check.self, Sample.self])
    }
}

extension Pane.Config {
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every setting in force and where it came from (flag, environment, file, default); passwords in URLs are masked.",
            discussion: """
                Exits 2, naming the key, when the file is not JSON, a key or PANE_ variable names no \
                setting (then nothing is printed), or a value is bad (after the table). When hub.regions is set the hub's settings are checked as \
                pane hub would; when spoke.region is set, the spoke's.
                """)

        @OptionGroup var common: CommonOptions

        func run() async throws {
            let source = try await common.source(extra: [:])
            print(source.layers.report(), terminator: "")
            do {
                if try source.regions(SettingKey.regions) != nil { _ = try HubConfiguration.load(from: source) }
                if try source.string(SettingKey.spokeRegion) != nil { _ = try SpokeConfiguration.load(from: source) }
            } catch { throw fail(error) }
        }
    }

    struct Sample: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a JSON config file with every key and its default (null where there is none); ops/pane.sample.json is its output.")

        func run() async throws {
            print(SettingCatalog.sampleJSON(), terminator: "")
        }
    }
}
