import Foundation
import WanRouteTestSupport
import WanRouteTesting
import XCTest
@testable import WanRoute

/// Every way a file ledger's month is read gives back the records as appended: from the start, by
/// job, job states, a parse of the file's bytes (`ledger import`), and an import into another
/// ledger. For tests of what lines leave to earlier ones.
enum LedgerReadBack {
    /// A new, empty ledger directory.
    static func directory() throws -> String { try Repository.temporaryDirectory().path + "/ledger" }

    /// The lines of the ledger's December 2026 file.
    static func lines(_ dir: String) throws -> [String] {
        try String(contentsOfFile: dir + "/2026-12.jsonl", encoding: .utf8).split(separator: "\n").map(String.init)
    }

    static func check(_ written: [LedgerRecord], directory dir: String, _ what: String = "",
                      file: StaticString = #filePath, line: UInt = #line) async throws {
        let month = try XCTUnwrap(written.first?.event.time.month, file: file, line: line)
        let fresh = try FileLedgerStore(directory: dir)
        let read = try await fresh.records(in: month)
        XCTAssertEqual(read, written, "\(what) from the start", file: file, line: line)
        var seen: [String] = []
        for r in written where !seen.contains(r.event.jobID) { seen.append(r.event.jobID) }
        let states = try await FileLedgerStore(directory: dir).states(of: Set(seen))
        for id in seen {
            let job = written.filter { $0.event.jobID == id }
            let records = try await fresh.records(forJob: id)
            XCTAssertEqual(records, job, "\(what) job \(id)", file: file, line: line)
            XCTAssertEqual(states[id], JobState.fold(job), "\(what) job \(id)'s state", file: file, line: line)
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/\(month).jsonl"))
        XCTAssertEqual(try LedgerImport.records([UInt8](bytes), file: "\(month).jsonl")[month], written, "\(what) parsed for import", file: file, line: line)
        let copy = try FileLedgerStore(directory: try directory())
        _ = try await LedgerImport.apply(written, month: month, to: copy)
        let copied = try await copy.records(in: month)
        XCTAssertEqual(copied, written, "\(what) imported into another ledger", file: file, line: line)
    }

    /// The committed month `Tests/Fixtures/ledger-versions/NAME/2026-12.jsonl`, checked equal to
    /// `bytes` (what each version's writer writes; `WANROUTE_RECORD_GOLDEN=1` re-records it), copied
    /// into a new ledger directory. Returns the directory and the committed text.
    static func committedMonth(_ name: String, equalTo bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws -> (directory: String, text: String) {
        let fixture = Repository.fixtures.appendingPathComponent("ledger-versions/\(name)/2026-12.jsonl")
        if GoldenFile.isRecording {
            try FileManager.default.createDirectory(at: fixture.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: fixture)
        }
        let committed = try Data(contentsOf: fixture)
        let text = String(decoding: committed, as: UTF8.self)
        XCTAssertEqual(text, String(decoding: bytes, as: UTF8.self),
                       "the committed lines are what each version writes; WANROUTE_RECORD_GOLDEN=1 re-records them", file: file, line: line)
        let dir = try directory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try committed.write(to: URL(fileURLWithPath: dir + "/2026-12.jsonl"))
        return (dir, text)
    }
}
