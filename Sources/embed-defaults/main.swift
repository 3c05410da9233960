// Writes Sources/WanRoute/Defaults/BuiltInDefaults.generated.swift: a copy of pricing/*.json and
// policies/*.json compiled into the binary, so `wanroute quote` works from any directory.
// Run from the repository root after changing either directory: `swift run embed-defaults`.
// BuiltInDefaultsTests (Tests/WanRouteTests/Defaults) fails while the copy and the directories differ.
import Foundation

let root = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
guard FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path) else {
    FileHandle.standardError.write(Data("embed-defaults: run this from the repository root (where Package.swift is)\n".utf8))
    exit(64)
}

/// A raw string literal that holds `text` unchanged: enough `#` that no run inside ends it early.
func rawLiteral(_ text: String) -> String {
    var hashes = "#"
    while text.contains("\"" + hashes) { hashes += "#" }
    return "\(hashes)\"\"\"\n\(text)\n\"\"\"\(hashes)"
}

func entries(_ folder: String) throws -> String {
    let dir = root.appendingPathComponent(folder)
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
    var out = ""
    for name in names {
        let text = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
        out += "        SourceFile(name: \"built-in:\(folder)/\(name)\", text: \(rawLiteral(text))),\n"
    }
    return out
}

let source = """
// GENERATED FILE: written by `swift run embed-defaults` from pricing/ and policies/; do not edit.
// BuiltInDefaultsTests (Tests/WanRouteTests/Defaults) fails while this copy and those directories differ.

/// The repository's pricing tables and policies, compiled into the binary.
enum BuiltInDefaults {
    static let pricing: [SourceFile] = [
\(try entries("pricing"))    ]

    static let policies: [SourceFile] = [
\(try entries("policies"))    ]
}

"""
let target = root.appendingPathComponent("Sources/WanRoute/Defaults/BuiltInDefaults.generated.swift")
try source.write(to: target, atomically: true, encoding: .utf8)
print("wrote \(target.path)")
