import Foundation
import WanRoute

/// `wanroute validate`: checks pricing (and policy) files and reports every problem at once.
enum ValidateCommand: Command {
    static let spec = CommandSpec(
        name: "validate",
        summary: "Check pricing, policy and contract-prices files; report every problem at once.",
        synopsis: "wanroute validate [FILE|DIR]...",
        options: [],
        positionals: "FILE|DIR",
        details: """
        With no arguments it checks ./pricing and ./policies (those that hold JSON files). A directory means
        every *.json file directly inside it. Pricing, exchange-rates, policy, policy-tests and
        contract-prices files are recognised by their "kind"; contract prices are checked laid over
        the pricing files given, or the built-in tables. Each problem is printed on stderr as
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
        let files = try context.sourceFiles(targets)
        let diagnostics = DataFileValidator.validate(files)
        DiagnosticList.write(diagnostics, to: context.stderr)
        let errors = diagnostics.filter { $0.severity == .error }.count
        let warnings = diagnostics.count - errors
        let summary = "checked \(files.count) file\(files.count == 1 ? "" : "s"): \(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")"
        context.stdout.write(summary + "\n")
        return errors > 0 ? .dataError : .ok
    }

}
