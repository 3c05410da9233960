// swift-tools-version:6.0
import PackageDescription

// No dependencies beyond Foundation, Dispatch and XCTest: the customer's rule.
let package = Package(
    name: "wanroute",
    products: [
        .library(name: "WanRoute", targets: ["WanRoute"]),
        .library(name: "WanRoutePostgres", targets: ["WanRoutePostgres"]),
        .executable(name: "wanroute", targets: ["wanroute"]),
    ],
    targets: [
        // The embeddable library: pricing, quoting, media probes, routing. Never prints.
        .target(name: "WanRoute"),
        // A PostgreSQL client written for wanroute (wire protocol 3.0, SCRAM-SHA-256, pool), kept out
        // of the core library so that embedders who never use PostgreSQL never link it.
        .target(name: "WanRoutePostgres"),
        // Argument parsing and rendering for the command line; writes only through the
        // streams it is handed, so tests can run it in-process as well as as a binary.
        .target(name: "WanRouteCLI", dependencies: ["WanRoute"]),
        .executableTarget(name: "wanroute", dependencies: ["WanRouteCLI"]),
        // Benchmarks behind BENCHMARKS.md: `swift run -c release wanroute-bench`.
        .executableTarget(name: "wanroute-bench", dependencies: ["WanRoute"]),
        // Regenerates the built-in copy of pricing/ and policies/: `swift run embed-defaults`.
        .executableTarget(name: "embed-defaults"),
        .testTarget(
            name: "WanRouteTests",
            dependencies: ["WanRoute", "WanRouteCLI", "wanroute"],
            path: "Tests/WanRouteTests"
        ),
        // Runs against a throwaway PostgreSQL cluster that the tests start themselves.
        .testTarget(
            name: "WanRoutePostgresTests",
            dependencies: ["WanRoutePostgres"],
            path: "Tests/WanRoutePostgresTests"
        ),
    ]
)
