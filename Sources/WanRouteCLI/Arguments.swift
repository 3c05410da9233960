import WanRoute

/// The process exit codes users script against (README, "Exit codes").
public enum ExitCode: Int32, Sendable {
    case ok = 0
    case failure = 1
    /// A policy or budget refused the job.
    case refused = 2
    /// The command line was wrong.
    case usage = 64
    /// A data file (pricing, policy, media) was wrong.
    case dataError = 65
    /// Ctrl-C or SIGTERM stopped a run (128 + SIGINT, as shells report it).
    case interrupted = 130
}

/// Everything a command can fail with; ``CommandLineTool`` maps each to a message and exit code.
enum CLIError: Error {
    /// A bad command line: the message names the problem; the usage hint comes from the command.
    case usage(String)
    /// Bad data files, with every diagnostic.
    case data([Diagnostic])
    /// A data problem described in one sentence.
    case dataMessage(String)
    /// Something else failed.
    case failure(String)
}

extension CLIError {
    /// A policy that cannot be used: a data error, with every diagnostic when the file is invalid.
    init(_ error: PolicyError) {
        switch error {
        case .invalid(let diagnostics): self = .data(diagnostics)
        case .noSuchPolicy: self = .usage(error.description)
        case .unreadable, .noExchangeRate: self = .dataMessage(error.description)
        }
    }
}

/// One `--option` a command accepts.
struct OptionSpec {
    let name: String
    /// The value's placeholder (`S`, `DIR`), or nil for a flag that takes no value.
    let value: String?
    let repeatable: Bool
    let help: String

    init(_ name: String, _ value: String? = nil, repeatable: Bool = false, help: String) {
        self.name = name
        self.value = value
        self.repeatable = repeatable
        self.help = help
    }
}

/// A subcommand's interface: its options, its positional arguments and its help text.
struct CommandSpec {
    let name: String
    let summary: String
    /// The one-line synopsis shown in usage errors and help.
    let synopsis: String
    let options: [OptionSpec]
    /// The placeholder for positional arguments, or nil when none are taken.
    let positionals: String?
    /// Paragraphs after the option list: defaults, examples, exit codes.
    let details: String
    /// The word a command with subcommands requires first (`policy test`), shown in the overview.
    var subcommand: String? = nil

    /// `quote`, or `policy test` for a command with a subcommand.
    var overviewName: String { subcommand.map { "\(name) \($0)" } ?? name }

    var help: String {
        var text = "\(summary)\n\nUsage: \(synopsis)\n\nOptions:\n"
        let all = options + [OptionSpec("help", help: "Show this help and exit.")]
        let width = all.map { label($0).count }.max() ?? 0
        for o in all {
            let l = label(o)
            text += "  \(l)\(String(repeating: " ", count: width - l.count + 2))\(o.help)\n"
        }
        if !details.isEmpty { text += "\n\(details)\n" }
        return text
    }

    private func label(_ o: OptionSpec) -> String {
        "--\(o.name)" + (o.value.map { " \($0)" } ?? "") + (o.repeatable ? " ..." : "")
    }
}

/// The options and positionals of one invocation.
struct ParsedArguments {
    private(set) var values: [String: [String]] = [:]
    private(set) var positionals: [String] = []

    func value(_ name: String) -> String? { values[name]?.last }
    func values(_ name: String) -> [String] { values[name] ?? [] }
    func flag(_ name: String) -> Bool { values[name] != nil }
    var wantsHelp: Bool { flag("help") }

    /// Parses `--name value`, `--name=value`, flags and positionals against `spec`; `--` ends options.
    init(_ arguments: [String], spec: CommandSpec) throws(CLIError) {
        var i = 0
        var optionsEnded = false
        while i < arguments.count {
            let arg = arguments[i]
            i += 1
            if optionsEnded || !arg.hasPrefix("--") || arg == "-" {
                if !optionsEnded, arg.hasPrefix("-"), arg != "-" {
                    throw .usage("unknown option '\(arg)'" + Self.hint(arg, spec))
                }
                guard spec.positionals != nil else { throw .usage("unexpected argument '\(arg)'") }
                positionals.append(arg)
                continue
            }
            if arg == "--" { optionsEnded = true; continue }
            var name = String(arg.dropFirst(2))
            var inline: String?
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            if name == "help" { values["help"] = []; continue }
            guard let option = spec.options.first(where: { $0.name == name }) else {
                throw .usage("unknown option '--\(name)'" + Self.hint("--" + name, spec))
            }
            if values[name] != nil, !option.repeatable {
                throw .usage("--\(name) is given more than once")
            }
            if let placeholder = option.value {
                let v: String
                if let inline {
                    v = inline
                } else {
                    guard i < arguments.count else { throw .usage("--\(name) needs a value (\(placeholder))") }
                    v = arguments[i]
                    i += 1
                }
                values[name, default: []].append(v)
            } else {
                if inline != nil { throw .usage("--\(name) takes no value") }
                values[name] = []
            }
        }
    }

    private static func hint(_ arg: String, _ spec: CommandSpec) -> String {
        let names = spec.options.map { "--" + $0.name }
        return Spelling.closest(to: arg, among: names).map { " (did you mean '\($0)'?)" } ?? ""
    }
}

