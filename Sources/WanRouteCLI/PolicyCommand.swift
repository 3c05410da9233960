import Foundation
import WanRoute

/// `wanroute policy test`: runs policy test files against the policies they name.
///
/// `policy` takes a subcommand word; `test` is the only one.
enum PolicyCommand: Command {
    static let subcommands = ["test"]

    static let spec = CommandSpec(
        name: "policy",
        summary: "Run routing policy test files: each case's job must get the decision it expects.",
        synopsis: "wanroute policy test [FILE|DIR]... [--pricing DIR]",
        options: [
            OptionSpec("pricing", "DIR", help: "Decide against the pricing tables in DIR instead of the built-in copy of pricing/."),
            JobOptions.contractSpec,
        ],
        positionals: "test [FILE|DIR]",
        details: """
        With no FILE or DIR it runs ./policies. A directory means its *.tests.json files; each names its
        policy file, relative to its own directory ("policy": "production.json"). Every case prints
        "pass" or "FAIL" with what differed, then a summary line "N passed, M failed". Rules that no
        case makes fire are listed as warnings on stderr.

        Exit codes: 0 every case passed; 1 a case failed; 64 a bad command line; 65 a malformed tests,
        policy or pricing file, with every problem.
        """,
        subcommand: "test"
    )

    static func run(_ args: ParsedArguments, _ context: Context) throws(CLIError) -> ExitCode {
        guard let word = args.positionals.first else {
            throw .usage("missing the subcommand; write 'wanroute policy test [FILE|DIR]...'")
        }
        guard subcommands.contains(word) else {
            let guess = Spelling.closest(to: word, among: subcommands).map { " (did you mean '\($0)'?)" } ?? ""
            throw .usage("unknown subcommand '\(word)'\(guess); the only one is 'test'")
        }
        var targets = Array(args.positionals.dropFirst())
        if targets.isEmpty {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: context.url("policies").path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw .usage("no ./policies here; name the policy test files or directories")
            }
            targets = ["policies"]
        }
        let catalog = try JobOptions.catalog(args, context)
        var files = try context.sourceFiles(targets)
        let tests = files.filter { $0.name.hasSuffix(".tests.json") || DocumentKind(of: $0) == .policyTests }
        guard !tests.isEmpty else {
            throw .dataMessage("no policy test files (*.tests.json) in \(targets.joined(separator: ", "))")
        }
        // Check every tests file first, so all their problems are reported at once, and read the
        // policy each one names when it was not among the files given.
        var diagnostics: [Diagnostic] = []
        for file in tests {
            do {
                let policy = sibling(of: file.name, tests: try PolicyTestFile.load(file).policy)
                if !files.contains(where: { $0.name == policy }), let found = try? SourceFile.read(context.url(policy), name: policy) {
                    files.append(found)
                }
            } catch {
                guard case .invalid(let d) = error else { throw CLIError(error) }
                diagnostics += d
            }
        }
        if diagnostics.contains(where: { $0.severity == .error }) { throw .data(diagnostics) }

        let outcomes: [PolicyTestSuite.Outcome]
        do { outcomes = try PolicyTestSuite.run(files: files, catalog: catalog) } catch { throw CLIError(error) }
        var passed = 0, failed = 0
        var out = ""
        for outcome in outcomes {
            out += "\(outcome.file): policy \(outcome.report.policy)\n"
            for r in outcome.report.results {
                if let difference = r.difference {
                    failed += 1
                    out += "  FAIL  \(r.name): \(difference)\n"
                } else {
                    passed += 1
                    out += "  pass  \(r.name)\n"
                }
            }
            for rule in outcome.report.untestedRules {
                let d = Diagnostic(.warning, file: outcome.file, path: "$.cases",
                                   message: "no case makes rule \"\(rule)\" of policy \"\(outcome.report.policy)\" fire")
                context.stderr.write("\(d)\n")
            }
        }
        context.stdout.write(out + "\(passed) passed, \(failed) failed\n")
        return failed > 0 ? .failure : .ok
    }

    /// The name of the policy file `policy` beside the tests file `name` (as ``PolicyTestSuite`` looks it up).
    static func sibling(of name: String, tests policy: String) -> String {
        let dir = name.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return dir.isEmpty ? policy : "\(dir)/\(policy)"
    }
}
