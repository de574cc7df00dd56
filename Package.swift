// swift-tools-version: 6.2
import PackageDescription

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
    name: "pane",
    products: [
        .executable(name: "pane", targets: ["pane"]),
        .executable(name: "pane-loadtest", targets: ["pane-loadtest"]),
        .library(name: "PaneCore", targets: ["PaneCore"]),
        .library(name: "PaneReader", targets: ["PaneReader"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // C: hiredis 0.14 (Debian's libhiredis-dev), wrapped by a shim for the variadic calls.
        .systemLibrary(
            name: "CPaneHiredis",
            // No pkgConfig: Debian's hiredis.pc adds -D_FILE_OFFSET_BITS=64, which SwiftPM
            // refuses with a warning on every build. The header and library are on default paths.
            providers: [.apt(["libhiredis-dev"])]
        ),
        // Pure logic: model, codec, apply rule. No C, no I/O.
        .target(name: "PaneCore", swiftSettings: strict),
        // Blocking threads as services, stop flags, doorbells, backoff: what every long-running
        // loop shares. No Redis, no SQLite.
        .target(
            name: "PaneRuntime",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // Typed Redis client over hiredis: connection, keys, one file per command family.
        .target(
            name: "PaneRedis",
            dependencies: [
                "CPaneHiredis", "PaneCore", "PaneRuntime",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),
        // Both SQLite stores (the hub's and the replica's), their migrations and the raw SQLite
        // helpers of the hot loops.
        .target(
            name: "PaneStore",
            dependencies: [
                "PaneCore", "PaneRuntime",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),
        // The embedded reader: a replica file read in-process, read-only, by programs beside a
        // spoke. No HTTP, no Redis.
        .target(name: "PaneReader", dependencies: ["PaneCore", "PaneRuntime", "PaneStore"], swiftSettings: strict),
        // HTTP pieces shared by the hub and spoke APIs.
        .target(
            name: "PaneHTTP",
            dependencies: [
                "PaneCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "PaneHub",
            dependencies: [
                "PaneCore", "PaneRedis", "PaneRuntime", "PaneStore", "PaneHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "PaneSpoke",
            dependencies: [
                "PaneCore", "PaneRedis", "PaneRuntime", "PaneStore", "PaneHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // Wiring shared by the executables: configuration, process supervision, metrics backend.
        .target(
            name: "PaneApp",
            dependencies: [
                "PaneCore", "PaneRuntime", "PaneStore", "PaneRedis", "PaneHTTP", "PaneHub", "PaneSpoke",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "pane",
            dependencies: [
                "PaneApp", "PaneCore", "PaneHTTP", "PaneHub", "PaneRedis", "PaneRuntime", "PaneSpoke",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // The load-test runner's logic: machine limits today, scenarios next.
        .target(
            name: "PaneLoadtest",
            dependencies: [
                "PaneCore", "PaneRuntime", "PaneStore", "PaneRedis", "PaneHub", "PaneSpoke", "PaneApp", "PaneReader",
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "pane-loadtest",
            dependencies: [
                "PaneLoadtest",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "PaneCoreTests", dependencies: ["PaneCore"], swiftSettings: strict),
        // What both process-level test targets share: the environment (Redis, binary, folders,
        // regions), the in-process hub on `Hub.loops()`, process handles, `eventually`, log capture.
        .target(
            name: "PaneTestKit",
            dependencies: [
                "PaneCore", "PaneRuntime", "PaneStore", "PaneRedis", "PaneHub", "PaneSpoke", "PaneApp", "PaneLoadtest",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/PaneTestKit",
            swiftSettings: strict
        ),
        // Scenario parsing, the verdict, and the smoke scenario against real processes.
        .testTarget(
            name: "PaneLoadtestTests",
            dependencies: [
                "PaneTestKit", "PaneLoadtest", "PaneCore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PaneIntegrationTests",
            dependencies: [
                "PaneTestKit", "PaneCore", "PaneRuntime", "PaneStore", "PaneRedis", "PaneHub", "PaneSpoke", "PaneApp", "PaneReader", "PaneHTTP",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
    ]
)
