import Foundation
import WanRoute

/// `wanroute validate`: checks pricing (and policy) files and reports every problem at once.
enum ValidateCommand: Command {
    static let spec = CommandSpec(
        name: "validate",
        summary: "Check pricing and policy files; report every problem at once.",
        synopsis: "wanroute validate [FILE|DIR]...",
        options: [],
        positionals: "FILE|DIR",
        details: """
        With no arguments it checks ./pricing and ./policies (those that hold JSON files). A directory means
        every *.json file directly inside it. Each problem is printed on stderr as
        FILE: JSON-PATH: error|warning: sentence. Exit 0 when there are no errors (warnings
        allowed), 65 when any file has an error.
        """
    )

    static func run(_ args: ParsedArguments, _ context: Context) throws(CLIError) -> ExitCode {
        var targets = args.positionals
        if targets.isEmpty {
            // Only the default folders that hold JSON: a fresh project may have no policies yet.
            targets = ["pricing", "policies"].filter {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: context.url($0).path)) ?? []
                return names.contains { $0.hasSuffix(".json") }
            }
            if targets.isEmpty {
                throw .usage("no ./pricing or ./policies here; name the files or directories to check")
            }
        }
        var files: [SourceFile] = []
        for target in targets {
            let url = context.url(target)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
                throw .usage("'\(target)' does not exist")
            }
            do {
                if isDirectory.boolValue {
                    let found = try SourceFile.jsonFiles(in: url)
                    if found.isEmpty { throw CLIError.dataMessage("'\(target)' holds no *.json files") }
                    files += found.map { SourceFile(name: relative($0.name, context), text: $0.text) }
                } else {
                    let file = try SourceFile.read(url)
                    files.append(SourceFile(name: target, text: file.text))
                }
            } catch let error as PricingError {
                throw .dataMessage(error.description)
            } catch let error as CLIError {
                throw error
            } catch {
                throw .failure("\(error)")
            }
        }
        let diagnostics = DataFileValidator.validate(files)
        for d in diagnostics { context.stderr.write("\(d)\n") }
        let errors = diagnostics.filter { $0.severity == .error }.count
        let warnings = diagnostics.count - errors
        let summary = "checked \(files.count) file\(files.count == 1 ? "" : "s"): \(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")"
        context.stdout.write(summary + "\n")
        return errors > 0 ? .dataError : .ok
    }

    /// A path relative to the current directory when it lies inside it, for shorter messages.
    private static func relative(_ path: String, _ context: Context) -> String {
        let base = context.currentDirectory.path.hasSuffix("/") ? context.currentDirectory.path : context.currentDirectory.path + "/"
        return path.hasPrefix(base) ? String(path.dropFirst(base.count)) : path
    }
}
