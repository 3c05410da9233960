import Foundation
import WanRouteCLI

exit(await CommandLineTool.run(
    arguments: Array(CommandLine.arguments.dropFirst()),
    environment: ProcessInfo.processInfo.environment,
    stdout: FileOutput.standardOutput,
    stderr: FileOutput.standardError
))
