import Foundation
import WanRouteCLI
import WanRouteTestSupport

/// Runs `wanroute` in-process: ``CommandLineTool/run(arguments:environment:stdout:stderr:currentDirectory:)``
/// with buffered streams, the same function the binary's main.swift calls.
enum CLIRunner {
    /// What a run returned and wrote.
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// The environment every run starts from: nothing of the test process's own leaks in, and a
    /// fixed today, so which prices `quote` flags as old does not change with the calendar.
    static let baseEnvironment = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "WANROUTE_TODAY": "2026-12-02"]

    /// Runs `wanroute arguments` in `directory` (a fresh temporary directory by default, so the
    /// built-in defaults are what is used) with `environment` added to ``baseEnvironment``.
    /// `terminal` makes stderr report itself as a terminal, so progress is written.
    static func run(_ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:],
                    terminal: Bool = false, standardInput: Data = Data()) async throws -> Result {
        let stdout = BufferOutput(), stderr = BufferOutput(isTerminal: terminal)
        // A fresh WANROUTE_HOME per run, unless the test gives one: runs write a ledger, and
        // budgets must not see other tests' spend.
        let home = ["WANROUTE_HOME": try Repository.temporaryDirectory().path]
        let status = await CommandLineTool.run(arguments: arguments, environment: baseEnvironment.merging(home) { $1 }.merging(environment) { $1 },
                                               stdout: stdout, stderr: stderr,
                                               currentDirectory: try directory ?? Repository.temporaryDirectory(),
                                               standardInput: { standardInput })
        return Result(status: status, stdout: stdout.text, stderr: stderr.text)
    }
}
