import Foundation
import WanRouteTestSupport
import XCTest

@testable import WanRoute

/// The HTML report rendered by a real browser: headless Chromium (Debian's `chromium`, which
/// `.ci/run` installs) dumps the DOM it built and takes a screenshot. Skipped with a message when
/// Chromium is missing locally; a failure when `CI=true`.
final class ReportHTMLBrowserTests: XCTestCase {
    static let candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]

    func chromium() throws -> String {
        if let path = Self.candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) { return path }
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            XCTFail("chromium is not installed; .ci/run installs it (apt-get install -y chromium)")
        }
        throw XCTSkip("chromium is not installed, so the HTML report is not rendered in a browser here (apt-get install -y chromium; CI runs it)")
    }

    /// Runs Chromium headless on a file with extra arguments; returns stdout. Killed after 60 s.
    func run(_ chromium: String, _ arguments: [String], file: URL, profile: URL) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: chromium)
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                             "--user-data-dir=\(profile.path)", "--hide-scrollbars"] + arguments + [file.absoluteString]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Read and wait off this thread, so a hung browser is killed rather than hanging the suite.
        final class Box: @unchecked Sendable { var data = Data() }
        let box = Box()
        let done = DispatchGroup()
        done.enter()
        DispatchQueue.global().async {
            box.data = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            done.leave()
        }
        if done.wait(timeout: .now() + 60) == .timedOut {
            process.terminate()
            XCTFail("chromium did not finish in 60 s")
            return ""
        }
        let data = box.data
        return String(decoding: data, as: UTF8.self)
    }

    func testTheReportRendersInHeadlessChromium() throws {
        let browser = try chromium()
        let dir = try Repository.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var builder = MonthlyReportBuilder(period: ReportFixture.period, dimensions: [.provider], rates: ReportFixture.catalog.exchangeRates,
                                           budgets: ReportFixture.policy.budgets)
        for j in ReportFixture.jobs { builder.add(j) }
        let report = try builder.finish(spend: ReportFixture.spend, asOf: ReportFixture.asOf)
        let page = dir.appendingPathComponent("report.html")
        try Data(report.rendered(.html).utf8).write(to: page)
        let blank = dir.appendingPathComponent("blank.html")
        try Data("<!DOCTYPE html><html><body style=\"background:#f6f7f9\"></body></html>".utf8).write(to: blank)

        // The DOM Chromium built: the charts' SVG elements and the tables are there.
        let dom = try run(browser, ["--dump-dom"], file: page, profile: dir.appendingPathComponent("profile"))
        XCTAssertTrue(dom.contains("<h1>Spend report 2026-12 (Asia/Shanghai), grouped by provider</h1>"), "the page did not render")
        XCTAssertGreaterThanOrEqual(dom.components(separatedBy: "<svg").count - 1, 2 + report.budgets.count)
        XCTAssertGreaterThan(dom.components(separatedBy: "class=\"bar\"").count - 1, 10, "bars in the daily and estimate charts")
        XCTAssertEqual(dom.components(separatedBy: "class=\"burn\"").count - 1, report.budgets.count)
        XCTAssertTrue(dom.contains("id=\"table-groups\""))
        XCTAssertTrue(dom.contains("3 jobs"), "the unknown-cost card")
        XCTAssertFalse(dom.contains("<script"))

        // A screenshot that is not blank: a page of text and charts compresses far worse than an
        // empty page of the same size.
        let shot = dir.appendingPathComponent("report.png"), empty = dir.appendingPathComponent("blank.png")
        _ = try run(browser, ["--window-size=1280,2400", "--screenshot=\(shot.path)"], file: page, profile: dir.appendingPathComponent("profile"))
        _ = try run(browser, ["--window-size=1280,2400", "--screenshot=\(empty.path)"], file: blank, profile: dir.appendingPathComponent("profile"))
        let png = try Data(contentsOf: shot), blankPNG = try Data(contentsOf: empty)
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "a PNG")
        // IHDR: width and height, big-endian, at bytes 16-23.
        let width = png[16..<20].reduce(0) { $0 << 8 | Int($1) }, height = png[20..<24].reduce(0) { $0 << 8 | Int($1) }
        XCTAssertEqual(width, 1280)
        XCTAssertEqual(height, 2400)
        XCTAssertGreaterThan(png.count, blankPNG.count * 5, "the screenshot (\(png.count) bytes) is barely bigger than a blank page's (\(blankPNG.count) bytes)")
        if let keep = ProcessInfo.processInfo.environment["WANROUTE_KEEP_SCREENSHOT"] { try? png.write(to: URL(fileURLWithPath: keep)) }
    }
}
