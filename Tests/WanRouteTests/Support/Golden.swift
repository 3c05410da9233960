import Foundation
import XCTest

/// Golden files: rendered output compared byte for byte with a committed file under
/// `Tests/Fixtures/<name>`. Run with `WANROUTE_RECORD_GOLDEN=1` to write the files instead (then
/// review the diff and commit them); a missing file fails and says how to record it.
enum Golden {
    static var recording: Bool { ProcessInfo.processInfo.environment["WANROUTE_RECORD_GOLDEN"] == "1" }

    static func assertMatches(_ actual: String, _ name: String, file: StaticString = #filePath, line: UInt = #line) {
        let url = Repository.fixtures.appendingPathComponent(name)
        if recording {
            try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            XCTAssertNoThrow(try Data(actual.utf8).write(to: url), file: file, line: line)
            return
        }
        guard let data = FileManager.default.contents(atPath: url.path), let expected = String(data: data, encoding: .utf8) else {
            XCTFail("no golden file Tests/Fixtures/\(name); run the test with WANROUTE_RECORD_GOLDEN=1 to record it", file: file, line: line)
            return
        }
        if expected != actual {
            let a = actual.components(separatedBy: "\n"), e = expected.components(separatedBy: "\n")
            let i = zip(a, e).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, e.count)
            XCTFail("""
                output differs from Tests/Fixtures/\(name) at line \(i + 1):
                  expected: \(i < e.count ? e[i] : "<end>")
                  actual:   \(i < a.count ? a[i] : "<end>")
                (WANROUTE_RECORD_GOLDEN=1 re-records it, if the change is intended)
                """, file: file, line: line)
        }
    }
}
