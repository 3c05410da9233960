import Foundation

/// Why a file could not be read at all (before anything in it is looked at).
public enum SourceFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file or directory is missing, unreadable or not UTF-8 text.
    case unreadable(path: String, reason: String)

    /// `cannot read PATH: REASON`.
    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read \(path): \(reason)"
        }
    }
}

/// A named text, from disk or from the copy built into the binary: what every document reader reads.
public struct SourceFile: Sendable, Equatable {
    /// How the file is named in diagnostics (a path, or `built-in:pricing/apixo.json`).
    public let name: String
    /// The file's whole text.
    public let text: String

    /// Creates a named text.
    public init(name: String, text: String) {
        self.name = name
        self.text = text
    }

    /// Every `*.json` file directly inside `directory`, sorted by name, each named by its path.
    public static func jsonFiles(in directory: URL) throws(SourceFileError) -> [SourceFile] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw .unreadable(path: directory.path, reason: "not a readable directory")
        }
        var files: [SourceFile] = []
        for name in names.sorted() where name.hasSuffix(".json") {
            files.append(try read(directory.appendingPathComponent(name)))
        }
        return files
    }

    /// One file's text, which must be UTF-8, named `name` in diagnostics (its path by default).
    public static func read(_ url: URL, name: String? = nil) throws(SourceFileError) -> SourceFile {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw .unreadable(path: name ?? url.path, reason: "no such file, or not readable")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .unreadable(path: name ?? url.path, reason: "not UTF-8 text")
        }
        return SourceFile(name: name ?? url.path, text: text)
    }
}
