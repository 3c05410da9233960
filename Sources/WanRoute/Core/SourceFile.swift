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

    /// The largest pricing, policy or policy-tests file read (1 MiB; the shipped ones are a few
    /// kilobytes). Checked before parsing, so a huge file costs nothing.
    public static let maximumBytes: Int64 = 1 << 20
    /// The most `*.json` files read from one directory.
    public static let maximumFilesPerDirectory = 1_000

    /// Every `*.json` file directly inside `directory`, sorted by name, each named by its path.
    public static func jsonFiles(in directory: URL) throws(SourceFileError) -> [SourceFile] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw .unreadable(path: directory.path, reason: "not a readable directory")
        }
        let json = names.filter { $0.hasSuffix(".json") }
        guard json.count <= maximumFilesPerDirectory else {
            throw .unreadable(path: directory.path, reason: "it holds \(json.count) JSON files, more than the \(maximumFilesPerDirectory) read from one directory")
        }
        var files: [SourceFile] = []
        for name in json.sorted() {
            files.append(try read(directory.appendingPathComponent(name)))
        }
        return files
    }

    /// One file's text, which must be UTF-8 and at most `limit` bytes (``maximumBytes`` unless a
    /// kind of file says otherwise; `what` names the kind in the error), named `name` in
    /// diagnostics (its path by default). Read through ``LocalFile``: a FIFO or a device is
    /// refused rather than waited on, and nothing past the limit is read.
    public static func read(_ url: URL, name: String? = nil, limit: Int64 = maximumBytes,
                            what: String = "a pricing, policy or tests file") throws(SourceFileError) -> SourceFile {
        switch LocalFile.read(url.path, limit: limit, what: what) {
        case .failure(let why):
            throw .unreadable(path: name ?? url.path, reason: why.description)
        case .success(let bytes):
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw .unreadable(path: name ?? url.path, reason: "not UTF-8 text")
            }
            return SourceFile(name: name ?? url.path, text: text)
        }
    }
}
