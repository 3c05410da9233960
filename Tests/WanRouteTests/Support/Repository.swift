import Foundation
@testable import WanRoute

/// Paths inside the repository, found from this file so tests run from any directory.
enum Repository {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let pricing = root.appendingPathComponent("pricing")
    static let policies = root.appendingPathComponent("policies")
    static let fixtures = root.appendingPathComponent("Tests/Fixtures")

    /// The shipped pricing files, as named texts.
    static func pricingFiles() throws -> [SourceFile] { try SourceFile.jsonFiles(in: pricing) }

    /// The shipped catalog, loaded from disk.
    static func catalog() throws -> PriceCatalog { try PriceCatalog.load(directory: pricing) }

    /// A fresh empty temporary directory.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("wanroute-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
