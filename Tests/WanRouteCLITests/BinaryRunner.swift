import Foundation
import WanRouteTestSupport
import XCTest

/// Runs the built `wanroute` binary as a user would, capturing its output: for the few end-to-end
/// tests of what only a process has (main.swift, exit statuses, real stdio).
enum BinaryRunner {

    /// The directory SwiftPM builds products into (the test bundle sits beside the binary).
    static var binary: URL {
        Bundle.main.bundleURL.appendingPathComponent("wanroute")
    }

    /// Runs `wanroute arguments` in `directory` (a fresh temporary directory by default, so the
    /// built-in defaults are what is used) with `environment` added to a minimal environment.
    static func run(_ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]) throws -> CLIRunner.Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = try directory ?? Repository.temporaryDirectory()
        process.environment = CLIRunner.baseEnvironment.merging(["WANROUTE_HOME": try Repository.temporaryDirectory().path]) { $1 }.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes before waiting, so a large output cannot fill a pipe and block the child.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        DispatchQueue.global().async(group: group) { errData = err.fileHandleForReading.readDataToEndOfFile() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return CLIRunner.Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }
}
