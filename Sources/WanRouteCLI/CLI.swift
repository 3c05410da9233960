import Foundation
import WanRoute

/// Where a command writes text: the process's stdout/stderr, or a buffer in tests.
public protocol TextOutput: AnyObject, Sendable {
    /// Whether a person is watching: progress is written only to a terminal.
    var isTerminal: Bool { get }
    /// Writes `text` as it is (no newline is added).
    func write(_ text: String)
}

/// A ``TextOutput`` over a file descriptor (standard output or standard error).
public final class FileOutput: TextOutput, @unchecked Sendable {  // FileHandle writes are whole syscalls
    private let handle: FileHandle
    /// Whether the descriptor is a terminal (progress is shown only then).
    public let isTerminal: Bool

    /// An output over `handle`, a terminal or not as the descriptor says.
    public init(_ handle: FileHandle) {
        self.handle = handle
        self.isTerminal = isatty(handle.fileDescriptor) == 1
    }

    /// The process's standard output.
    public static let standardOutput = FileOutput(.standardOutput)
    /// The process's standard error.
    public static let standardError = FileOutput(.standardError)

    /// Writes `text` to the descriptor.
    public func write(_ text: String) { handle.write(Data(text.utf8)) }
}

/// A ``TextOutput`` that escapes control characters (``TerminalText``) before passing text on:
/// file names, URLs, provider answers and data-file keys are untrusted, and a raw ESC could
/// retitle the window or clear the screen of whoever reads the output.
final class EscapingOutput: TextOutput, @unchecked Sendable {  // immutable
    let base: TextOutput
    init(_ base: TextOutput) { self.base = base }
    /// Whether the underlying output is a terminal (progress is shown only then).
    var isTerminal: Bool { base.isTerminal }
    func write(_ text: String) { base.write(TerminalText.escaped(text)) }
}

/// A ``TextOutput`` that keeps what was written, for in-process tests.
public final class BufferOutput: TextOutput, @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = ""
    /// Whether commands should treat the buffer as a terminal (to test progress output).
    public let isTerminal: Bool
    /// An empty buffer, by default not a terminal.
    public init(isTerminal: Bool = false) { self.isTerminal = isTerminal }
    /// Everything written so far.
    public var text: String { lock.withLock { buffer } }
    /// Appends `text`.
    public func write(_ text: String) { lock.withLock { buffer += text } }
}

/// What a command runs with: its streams and environment.
struct Context {
    let stdout: TextOutput
    let stderr: TextOutput
    let environment: [String: String]
    let currentDirectory: URL
    /// Reads all of standard input (`--jobs -`); read only when a command asks.
    /// Standard input, read only up to one byte past the largest jobs file (16 MiB): `--jobs - < /dev/zero` stops there.
    var standardInput: @Sendable () -> Data = { Data(LocalFile.read(descriptor: 0, limit: (16 << 20) + 1)) }
}

/// The `wanroute` command line: parses arguments, runs one command, maps every error to a
/// message on stderr and an exit code (README, "Exit codes").
public enum CommandLineTool {
    /// The version `wanroute --version` prints.
    public static let version = "0.1.0"

static let commands: [any Command.Type] = [QuoteCommand.self, ProbeCommand.self, RouteCommand.self, PolicyCommand.self, RunCommand.self, ResumeCommand.self, JobsCommand.self, ReportCommand.self, ReconcileCommand.self, WhatIfCommand.self, SimulateCommand.self, ValidateCommand.self, LedgerCommand.self]

    static var overview: String {
        let width = commands.map { $0.spec.overviewName.count }.max() ?? 0
        let list = commands.map { "  \($0.spec.overviewName)\(String(repeating: " ", count: width - $0.spec.overviewName.count + 2))\($0.spec.summary)" }
        return """
        wanroute: price, route and run Wan 2.2 Animate video jobs across hosted APIs.

        Usage: wanroute <command> [options]

        Commands:
        \(list.joined(separator: "\n"))

        Options:
          --help     Show help (also after a command: wanroute quote --help).
          --version  Print the version and exit.

        """
    }

    /// Runs one invocation and returns its exit code. `arguments` excludes the program name.
    ///
    /// Everything the command reads from outside comes in here (arguments, environment, current
    /// directory) and everything it writes goes to `stdout` and `stderr`, so it runs in-process in
    /// tests exactly as the binary runs it.
    /// `standardInput` is read only by `--jobs -`; tests hand in their own bytes.
    public static func run(arguments: [String], environment: [String: String], stdout: TextOutput, stderr: TextOutput,
                           currentDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
                           standardInput: @escaping @Sendable () -> Data = { Data(LocalFile.read(descriptor: 0, limit: (16 << 20) + 1)) }) async -> Int32 {
        // The one place output leaves wanroute: nothing printed can carry a raw control character.
        let stdout = EscapingOutput(stdout)
        let stderr = EscapingOutput(stderr)
        let context = Context(stdout: stdout, stderr: stderr, environment: environment, currentDirectory: currentDirectory,
                              standardInput: standardInput)
        guard let first = arguments.first else {
            stderr.write(overview)
            return ExitCode.usage.rawValue
        }
        switch first {
        case "--help", "-h", "help":
            if arguments.count > 1, let command = commands.first(where: { $0.spec.name == arguments[1] }) {
                stdout.write(command.spec.help)
            } else {
                stdout.write(overview)
            }
            return ExitCode.ok.rawValue
        case "--version":
            stdout.write("wanroute \(version)\n")
            return ExitCode.ok.rawValue
        default:
            break
        }
        guard let command = commands.first(where: { $0.spec.name == first }) else {
            let guess = Spelling.closest(to: first, among: commands.map { $0.spec.name })
            stderr.write("wanroute: error: unknown command '\(first)'\(guess.map { " (did you mean '\($0)'?)" } ?? "")\n")
            stderr.write("usage: wanroute <command> [options]; see 'wanroute --help'\n")
            return ExitCode.usage.rawValue
        }
        let spec = command.spec
        do throws(CLIError) {
            let parsed = try ParsedArguments(Array(arguments.dropFirst()), spec: spec)
            if parsed.wantsHelp {
                stdout.write(spec.help)
                return ExitCode.ok.rawValue
            }
            return try await command.run(parsed, context).rawValue
        } catch {
            return report(error, command: spec, stderr: stderr).rawValue
        }
    }

    private static func report(_ error: CLIError, command: CommandSpec, stderr: TextOutput) -> ExitCode {
        let prefix = "wanroute \(command.name): error:"
        switch error {
        case .usage(let message):
            stderr.write("\(prefix) \(message)\nusage: \(command.synopsis); see 'wanroute \(command.name) --help'\n")
            return .usage
        case .data(let diagnostics):
            DiagnosticList.write(diagnostics, to: stderr)
            let errors = diagnostics.filter { $0.severity == .error }.count
            stderr.write("\(prefix) \(errors) problem\(errors == 1 ? "" : "s") in the data files above; fix them and run again\n")
            return .dataError
        case .dataMessage(let message):
            stderr.write("\(prefix) \(message)\n")
            return .dataError
        case .failure(let message):
            stderr.write("\(prefix) \(message)\n")
            return .failure
        }
    }
}

/// A subcommand. `run` is async so a command that waits (on providers, on a signal) awaits on the
/// concurrency pool instead of blocking a thread; a command with nothing to wait for implements it
/// as a plain function.
protocol Command: Sendable {
    static var spec: CommandSpec { get }
    static func run(_ arguments: ParsedArguments, _ context: Context) async throws(CLIError) -> ExitCode
}

extension Context {
    /// A path from the command line, relative to the current directory.
    func url(_ path: String) -> URL {
        path.hasPrefix("/") ? URL(fileURLWithPath: path) : currentDirectory.appendingPathComponent(path)
    }

    /// A path relative to the current directory when it lies inside it, for shorter messages.
    func relative(_ path: String) -> String {
        let base = currentDirectory.path.hasSuffix("/") ? currentDirectory.path : currentDirectory.path + "/"
        return path.hasPrefix(base) ? String(path.dropFirst(base.count)) : path
    }

    /// The files named on a command line: a directory means every `*.json` file directly inside it.
    /// Each file is named as given (or relative to the current directory) and read once. A missing
    /// path is a usage error; an unreadable file or a directory with no JSON is a data error.
    func sourceFiles(_ targets: [String]) throws(CLIError) -> [SourceFile] {
        var files: [SourceFile] = []
        for target in targets {
            let url = url(target)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
                throw .usage("'\(target)' does not exist")
            }
            let found: [SourceFile]
            do throws(SourceFileError) {
                found = isDirectory.boolValue
                    ? try SourceFile.jsonFiles(in: url).map { SourceFile(name: relative($0.name), text: $0.text) }
                    : [try SourceFile.read(url, name: target)]
            } catch {
                throw .dataMessage(error.description)
            }
            if found.isEmpty { throw .dataMessage("'\(target)' holds no *.json files") }
            for f in found where !files.contains(where: { $0.name == f.name }) { files.append(f) }
        }
        return files
    }
}
