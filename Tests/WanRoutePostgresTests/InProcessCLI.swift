import Foundation
import WanRouteCLI

/// Runs `wanroute` in this process, as the PostgreSQL command tests do: its exit code, stdout and stderr.
func runCLI(_ arguments: [String], _ environment: [String: String]) async -> (code: Int32, out: String, err: String) {
    let out = BufferOutput(), err = BufferOutput()
    let code = await CommandLineTool.run(arguments: arguments, environment: environment, stdout: out, stderr: err)
    return (code, out.text, err.text)
}
