import Foundation
import WanRoute

/// Paths inside the repository, found from this file so tests run from any directory.
public enum Repository {
    /// The repository's root directory (where Package.swift is).
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// The shipped pricing tables.
    public static let pricing = root.appendingPathComponent("pricing")
    /// The shipped policies and their tests.
    public static let policies = root.appendingPathComponent("policies")
    /// Small committed inputs and golden outputs.
    public static let fixtures = root.appendingPathComponent("Tests/Fixtures")

    /// The shipped pricing files, as named texts.
    public static func pricingFiles() throws -> [SourceFile] { try SourceFile.jsonFiles(in: pricing) }

    /// The shipped catalog, loaded from disk.
    public static func catalog() throws -> PriceCatalog { try PriceCatalog.load(directory: pricing) }

    /// A fresh empty temporary directory.
    public static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("wanroute-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
