// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "limitlab",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "limitlab", targets: ["limitlab"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        // HdrHistogram for the .hlog latency export (LimitlabReport/Rendering/HdrExport.swift).
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        // Prometheus metrics (live runner and mock /metrics); brings swift-metrics' CoreMetrics.
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // C edge: system libraries with typed shims. Nothing above LimitlabStats / the HTTP
        // client (later) sees a C type.
        .systemLibrary(
            name: "CGSL", path: "Sources/CGSL", pkgConfig: "gsl",
            providers: [.apt(["libgsl-dev"])]),
        .systemLibrary(
            name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(
            name: "CHiredis", path: "Sources/CHiredis", pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]),

        // Pure model: limits, tier catalog, scenario values, strategy interface. No C, no I/O
        // beyond reading the bundled catalog.
        .target(
            name: "LimitlabCore",
            resources: [.copy("Resources/catalog.json")],
            swiftSettings: strict),
        // GSL-backed random numbers, distributions and quantiles.
        .target(name: "LimitlabStats", dependencies: ["CGSL"], swiftSettings: strict),
        // YAML scenario files -> validated `Scenario` values with located errors. Strategy blocks
        // are checked against the registry, which lives with the strategies in LimitlabStrategies.
        .target(
            name: "LimitlabScenario",
            dependencies: ["LimitlabCore", "LimitlabStrategies", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict),
        // Client strategies: pure state machines shared by the simulator and the live runner.
        .target(
            name: "LimitlabStrategies", dependencies: ["LimitlabCore", "LimitlabStats"],
            swiftSettings: strict),
        // The client loop (arrivals -> strategy -> sends -> outcomes) shared by the simulator and
        // the live runner; time and transport come from them.
        .target(name: "LimitlabClient", dependencies: ["LimitlabCore"], swiftSettings: strict),
        // Arrival generation and the draws of scenario quantities (simulator, mock, live runner).
        .target(name: "LimitlabWorkload", dependencies: ["LimitlabCore", "LimitlabStats"], swiftSettings: strict),
        // The one organisation server: limits, prompt cache, latency, faults. Pure; the simulator
        // and the mock both call it.
        .target(
            name: "LimitlabServer", dependencies: ["LimitlabCore", "LimitlabStats", "LimitlabWorkload"],
            swiftSettings: strict),
        // The discrete-event simulator: the client strategies against the server in virtual time.
        .target(
            name: "LimitlabSim",
            dependencies: ["LimitlabCore", "LimitlabStats", "LimitlabStrategies", "LimitlabWorkload", "LimitlabServer",
                           "LimitlabClient"],
            swiftSettings: strict),
        // Summaries, report.json, event CSV, terminal tables.
        .target(
            name: "LimitlabReport",
            dependencies: ["LimitlabCore", "LimitlabStats", "LimitlabSim",
                           .product(name: "Histogram", package: "hdrhistogram-swift")],
            swiftSettings: strict),
        // The built-in mock Anthropic API server (SwiftNIO), driving the same LimitModel.
        .target(
            name: "LimitlabMock",
            dependencies: [
                "LimitlabCore", "LimitlabStats", "LimitlabScenario", "LimitlabServer",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict),
        // The live runner: open-loop load over libcurl's multi interface, driving the same strategy objects.
        .target(
            name: "LimitlabLive",
            dependencies: ["LimitlabCore", "LimitlabStats", "LimitlabStrategies", "LimitlabWorkload", "LimitlabClient", "CCurl",
                           .product(name: "Prometheus", package: "swift-prometheus")],
            swiftSettings: strict),
        // Live telemetry out of the process: the /metrics endpoint (SwiftNIO) and the OTLP/HTTP
        // JSON push (libcurl), both reading one Prometheus registry.
        .target(
            name: "LimitlabTelemetry",
            dependencies: [
                "CCurl",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict),
        // The shared quota store in Redis (hiredis): worker processes share one limiter.
        .target(name: "LimitlabRedis", dependencies: ["LimitlabCore", "CHiredis"], swiftSettings: strict),
        .executableTarget(
            name: "limitlab",
            dependencies: [
                "LimitlabLive", "LimitlabRedis", "LimitlabWorkload",
                "LimitlabCore", "LimitlabScenario", "LimitlabSim", "LimitlabReport", "LimitlabStats", "LimitlabStrategies",
                "LimitlabMock", "CCurl", "LimitlabTelemetry",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "limitlab-bench",
            dependencies: ["LimitlabCore", "LimitlabSim", "LimitlabReport", "LimitlabStrategies", "LimitlabLive",
                           "LimitlabWorkload"],
            path: "Sources/limitlab-bench",
            swiftSettings: strict),

        // Shared by the test targets only: scenarios built in code and a blocking HTTP client.
        .target(
            name: "LimitlabTestSupport", dependencies: ["LimitlabCore", "CCurl"], path: "Tests/LimitlabTestSupport",
            swiftSettings: strict),

        .testTarget(name: "LimitlabCoreTests", dependencies: ["LimitlabCore"]),
        .testTarget(name: "LimitlabStatsTests", dependencies: ["LimitlabStats"]),
        .testTarget(name: "LimitlabStrategiesTests", dependencies: ["LimitlabStrategies", "LimitlabCore"]),
        .testTarget(name: "LimitlabClientTests", dependencies: ["LimitlabClient", "LimitlabCore"]),
        .testTarget(
            name: "LimitlabScenarioTests",
            dependencies: ["LimitlabScenario", "LimitlabCore", "LimitlabStrategies", "LimitlabSim", "LimitlabWorkload"],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "LimitlabSimTests",
            dependencies: ["LimitlabSim", "LimitlabCore", "LimitlabStats", "LimitlabReport", "LimitlabWorkload",
                           "LimitlabServer", "LimitlabTestSupport"]),
        .testTarget(name: "LimitlabRedisTests", dependencies: ["LimitlabRedis", "LimitlabCore"]),
        .testTarget(name: "CBridgeTests", dependencies: ["CCurl", "CGSL"]),
        .testTarget(
            name: "LimitlabMockTests",
            dependencies: ["LimitlabMock", "LimitlabCore", "LimitlabScenario", "CCurl", "LimitlabTestSupport",
                           "LimitlabTelemetry"]),
        .testTarget(
            name: "LimitlabLiveTests",
            dependencies: ["LimitlabLive", "LimitlabMock", "LimitlabCore", "LimitlabSim", "LimitlabReport", "LimitlabScenario",
                           "LimitlabWorkload", "LimitlabServer",
                           "LimitlabStats", "LimitlabStrategies", "LimitlabTestSupport", "LimitlabTelemetry",
                           .product(name: "Prometheus", package: "swift-prometheus")]),
        .testTarget(
            name: "LimitlabTelemetryTests",
            dependencies: ["LimitlabTelemetry", "LimitlabLive", "LimitlabCore",
                           .product(name: "Prometheus", package: "swift-prometheus")]),
        .testTarget(
            name: "LimitlabReportTests",
            dependencies: ["LimitlabReport", "LimitlabSim", "LimitlabCore", "LimitlabStats", "LimitlabScenario"]),
    ],
    swiftLanguageModes: [.v6]
)
