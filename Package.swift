// swift-tools-version:6.0
import PackageDescription

// No dependencies beyond Foundation, Dispatch and XCTest: the customer's rule.
let package = Package(
    name: "wanroute",
    products: [
        .library(name: "WanRoute", targets: ["WanRoute"]),
        // The PostgreSQL client for the shared ledger, for embedders who want that store too.
        .library(name: "WanRoutePostgres", targets: ["WanRoutePostgres"]),
        // Test doubles for code built on WanRoute (a virtual clock; the ledger's in-memory store
        // and conformance suite), as swift-log ships its in-memory handler.
        .library(name: "WanRouteTesting", targets: ["WanRouteTesting"]),
        .executable(name: "wanroute", targets: ["wanroute"]),
    ],
    targets: [
        // The embeddable library: pricing, quoting, media probes, routing. Never prints.
        .target(name: "WanRoute"),
        // A PostgreSQL client written for wanroute (wire protocol 3.0, SCRAM-SHA-256, pool) and the
        // PostgreSQL ledger store; kept out of the core library, so embedders who never use
        // PostgreSQL never link it.
        .target(name: "WanRoutePostgres", dependencies: ["WanRoute"]),
        // Shipped test doubles; never linked into the binary.
        .target(name: "WanRouteTesting", dependencies: ["WanRoute"]),
        // Argument parsing and rendering for the command line; writes only through the
        // streams it is handed, so tests can run it in-process as well as as a binary.
        .target(name: "WanRouteCLI", dependencies: ["WanRoute", "WanRoutePostgres"]),
        .executableTarget(name: "wanroute", dependencies: ["WanRouteCLI"]),
        // Benchmarks behind BENCHMARKS.md: `swift run -c release wanroute-bench`.
        .executableTarget(name: "wanroute-bench", dependencies: ["WanRoute", "WanRouteTesting", "WanRoutePostgres"]),
        // Regenerates the built-in copy of pricing/ and policies/: `swift run embed-defaults`.
        .executableTarget(name: "embed-defaults"),
        // What the test targets share: repository paths, fixtures, a loopback file server,
        // golden files, the throwaway PostgreSQL cluster. Not a product.
        .target(name: "WanRouteTestSupport", dependencies: ["WanRoute", "WanRoutePostgres"], path: "Tests/WanRouteTestSupport"),
        // The library, type by type.
        .testTarget(
            name: "WanRouteTests",
            dependencies: ["WanRoute", "WanRouteTesting", "WanRouteTestSupport"],
            path: "Tests/WanRouteTests"
        ),
        // The command line: in-process through CommandLineTool.run, plus a few end-to-end runs of
        // the built binary (hence the dependency on it), and the crash drills over both ledgers.
        .testTarget(
            name: "WanRouteCLITests",
            dependencies: ["WanRouteCLI", "WanRoute", "WanRoutePostgres", "WanRouteTestSupport", "wanroute"],
            path: "Tests/WanRouteCLITests"
        ),
        // The PostgreSQL client against a throwaway cluster that the tests start themselves.
        .testTarget(
            name: "WanRoutePostgresTests",
            dependencies: ["WanRoutePostgres", "WanRoute", "WanRouteTesting", "WanRouteTestSupport", "WanRouteCLI"],
            path: "Tests/WanRoutePostgresTests"
        ),
    ]
)
