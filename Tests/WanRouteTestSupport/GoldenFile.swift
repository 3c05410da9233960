import Foundation
import XCTest

/// Golden files: committed expected outputs under `Tests/Fixtures/golden`, compared byte for byte.
///
/// When an output changes on purpose, re-record with `WANROUTE_RECORD_GOLDEN=1 swift test`, read
/// the diff in git, and commit it with the change. A recording run fails every golden test it
/// rewrites, so it is never mistaken for a passing run.
public enum GoldenFile {
    /// `Tests/Fixtures/golden`.
    public static let directory = Repository.fixtures.appendingPathComponent("golden")

    /// Whether this run rewrites golden files instead of comparing with them.
    public static var isRecording: Bool { ProcessInfo.processInfo.environment["WANROUTE_RECORD_GOLDEN"] == "1" }

    /// The first line where `actual` and `expected` differ, both shown, or nil when they are equal.
    public static func difference(_ actual: String, _ expected: String) -> String? {
        guard actual != expected else { return nil }
        func lines(_ text: String) -> [Substring] {
            let all = text.split(separator: "\n", omittingEmptySubsequences: false)
            return text.hasSuffix("\n") ? Array(all.dropLast()) : all
        }
        let a = lines(actual), e = lines(expected)
        for i in 0..<max(a.count, e.count) {
            let got = i < a.count ? String(a[i]) : "(end of output)"
            let want = i < e.count ? String(e[i]) : "(end of file)"
            if got != want { return "line \(i + 1):\n  expected: \(want)\n  actual:   \(got)" }
        }
        return "the end: one text ends with a newline and the other does not"
    }
}

/// Asserts that `actual` equals the golden file `name` (such as `quote-10s.json`), or rewrites the
/// file when `WANROUTE_RECORD_GOLDEN=1`.
public func assertGolden(_ actual: String, named name: String, file: StaticString = #filePath, line: UInt = #line) {
    let url = GoldenFile.directory.appendingPathComponent(name)
    if GoldenFile.isRecording {
        do {
            try FileManager.default.createDirectory(at: GoldenFile.directory, withIntermediateDirectories: true)
            try Data(actual.utf8).write(to: url, options: .atomic)
            XCTFail("recorded \(name); run the tests again without WANROUTE_RECORD_GOLDEN to compare", file: file, line: line)
        } catch {
            XCTFail("could not record \(name): \(error)", file: file, line: line)
        }
        return
    }
    guard let data = FileManager.default.contents(atPath: url.path) else {
        return XCTFail("no golden file \(name) in Tests/Fixtures/golden; record it with WANROUTE_RECORD_GOLDEN=1 swift test", file: file, line: line)
    }
    if let difference = GoldenFile.difference(actual, String(decoding: data, as: UTF8.self)) {
        XCTFail("output differs from golden file \(name) at \(difference)\n(if the change is intended, re-record with WANROUTE_RECORD_GOLDEN=1 swift test)", file: file, line: line)
    }
}
