import Foundation
import WanRouteTestSupport
import WanRouteTesting
import XCTest
@testable import WanRoute

/// The README's jq filter (`Tests/Fixtures/readme/whole.jq`, the README's block is checked equal
/// to it) prints every line of a ledger file whole: run by the real jq over a month that leaves
/// things out in every way the writer does, each line it prints holds the same members as the line
/// the codec writes for the record the store reads (checksums aside).
final class ReadmeLedgerFilterTests: XCTestCase {
    typealias C = LedgerStoreConformance

    func jq() throws -> String {
        if let path = ["/usr/bin/jq", "/usr/local/bin/jq"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) { return path }
        if ProcessInfo.processInfo.environment["CI"] != nil {
            XCTFail("jq is not installed; .ci/run installs it (apt-get install -y jq)")
        }
        throw XCTSkip("jq is not installed, so the README's filter is not run here (apt-get install -y jq; CI runs it)")
    }

    func testTheReadmesFilterPrintsEveryLineWhole() async throws {
        let jq = try jq()
        let dir = try Repository.temporaryDirectory().path + "/ledger"
        let a = try FileLedgerStore(directory: dir), b = try FileLedgerStore(directory: dir)
        // Two jobs interleaved, a retry and a failover, another process's run in between, a refusal.
        let j3Intent = LedgerEvent(time: C.at(5), jobID: "j3", provider: C.dashscope, body: .submitIntent(mode: .wanStd, resolution: .p720, attempt: 1))
        var refused = C.decided("j4", C.at(6))
        refused.provider = nil
        if case .decided(var d) = refused.body {
            (d.mode, d.resolution, d.estimate, d.estimateUSD, d.alternates, d.refusal) = (nil, nil, nil, nil, [], "no offer qualifies")
            refused.body = .decided(d)
        }
        let j1 = C.lifecycle("j1"), j2 = C.lifecycle("j2", from: C.at(1))
        _ = try await a.append([j1[0], j2[0], j1[1], j2[1], j1[2], j2[2], j1[3]])
        var other = C.decided("x1", C.at(3))
        other.runID = "run-2"
        _ = try await b.append([other])
        _ = try await a.append([j2[3], C.decided("j3", C.at(4)),
                                LedgerEvent(time: C.at(4), jobID: "j3", provider: C.apixo, body: .submitIntent(mode: .standard, resolution: .p720, attempt: 1)),
                                LedgerEvent(time: C.at(5), jobID: "j3", provider: C.apixo, body: .submitIntent(mode: .standard, resolution: .p720, attempt: 2)),
                                j3Intent, LedgerEvent(time: C.at(6), jobID: "j3", provider: C.dashscope, taskID: "t3", body: .accepted), refused]
                               + Array(j1[4...]) + Array(j2[4...]))
        let file = dir + "/2026-12.jsonl"
        let written = try String(contentsOfFile: file, encoding: .utf8)
        XCTAssertTrue(written.contains(#""ctx":"#), "the month takes a context from an earlier line")
        XCTAssertTrue(written.contains(#""e":"accepted","j":"j1","task""#), "and a provider")

        let process = Process()
        process.executableURL = URL(fileURLWithPath: jq)
        process.arguments = ["-cn", "-f", Repository.fixtures.appendingPathComponent("readme/whole.jq").path, file]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let printed = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        let lines = String(decoding: printed, as: UTF8.self).split(separator: "\n")
        let records = try await FileLedgerStore(directory: dir).records(in: C.t0.month)
        XCTAssertEqual(lines.count, records.count)
        func members(_ text: some StringProtocol) throws -> NSDictionary {
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            return object.filter { $0.key != "c" } as NSDictionary
        }
        for (line, record) in zip(lines, records) {
            let whole = String(decoding: LedgerCodec.encode(record).dropLast(), as: UTF8.self)
            XCTAssertEqual(try members(line), try members(whole), "\(line)")
        }
    }
}
