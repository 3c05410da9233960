import WanRoute
import XCTest

/// The stable wire shapes the library owns: the run line, money's JSON and CSV forms, the jobs file.
final class WireShapeTests: XCTestCase {
    func testTheRunLineIsStable() {
        let attempt = Attempt(provider: ProviderID("apixo")!, mode: .standard, resolution: .p720, outcome: .submitFailed,
                              failure: .outOfBalance, submissions: 1, actualCost: usd("0"), actualCostSource: .noTask,
                              detail: "apixo refused the job: no balance")
        let done = Attempt(provider: ProviderID("dashscope-intl")!, mode: .wanStd, resolution: .p720, taskID: "t-1", outcome: .succeeded,
                           submissions: 1, actualCost: usd("1.2"), actualCostSource: .providerReported, detail: "task t-1 succeeded")
        let report = JobReport(id: "j1", status: .succeeded, provider: ProviderID("dashscope-intl")!, mode: .wanStd, resolution: .p720,
                               taskID: "t-1", resultURL: "https://r.example/v.mp4", estimatedCost: usd("1.20"), actualCost: usd("1.2"),
                               actualCostSource: .providerReported, billed: BilledQuantity(seconds: Seconds(whole: 10), ratio: "standard"),
                               estimatedUSD: usd("1.20"), actualUSD: usd("1.2"), attempts: [attempt, done], message: "done on dashscope-intl")
        XCTAssertEqual(report.jsonLine, """
        {"id":"j1","status":"succeeded","provider":"dashscope-intl","mode":"wan-std","resolution":"720p","task_id":"t-1",\
        "result_url":"https://r.example/v.mp4","estimated_cost":{"amount":"1.20","currency":"USD"},\
        "actual_cost":{"amount":"1.20","currency":"USD"},"actual_cost_source":"provider-reported",\
        "estimated_usd":{"amount":"1.20","currency":"USD","converted":false},\
        "actual_usd":{"amount":"1.20","currency":"USD","converted":false},"cost_alert":null,\
        "billed":{"seconds":"10","ratio":"standard","credits":null,"cost":null},"attempts":[{"provider":"apixo","mode":"standard",\
        "resolution":"720p","task_id":null,"outcome":"submit-failed","failure":"out-of-balance","submissions":1,\
        "actual_cost":{"amount":"0.00","currency":"USD"},"actual_cost_source":"no-task","detail":"apixo refused the job: no balance"},\
        {"provider":"dashscope-intl","mode":"wan-std","resolution":"720p","task_id":"t-1","outcome":"succeeded","failure":null,\
        "submissions":1,"actual_cost":{"amount":"1.20","currency":"USD"},"actual_cost_source":"provider-reported",\
        "detail":"task t-1 succeeded"}],"message":"done on dashscope-intl"}

        """)
    }

    func testMoneyWireForms() {
        XCTAssertEqual(JSONWriter.compact(usd("0.2").json), #"{"amount":"0.20","currency":"USD"}"#)
        XCTAssertEqual(Money.csvFields(Money(decimal: "3.5", currency: .cny)), ["3.50", "CNY"])
        XCTAssertEqual(Money.csvFields(nil), ["", ""], "unknown is empty, never zero")
        XCTAssertEqual(CSV.line(["a,b", "say \"hi\"", "plain"]), "\"a,b\",\"say \"\"hi\"\"\",plain\r\n")
    }

    func testAJobsFileReportsEveryProblemAndBuildsOrders() throws {
        let text = """
        {"id": "a", "image": "https://m.example/f.png", "video": "https://m.example/v.mp4", "duration": "12.5", "tags": {"customer": "film"}}

        {"id": "a", "image": "https://m.example/f.png", "video": "https://m.example/v.mp4", "duration": "3"}
        {"image": "face.png", "video": "https://m.example/v.mp4", "durration": "3"}
        {"image": "https://m.example/f.png", "video": "https://m.example/w.mp4"}
        """
        let (lines, diagnostics) = JobsFile.parse(text, name: "jobs.jsonl")
        XCTAssertEqual(lines.map(\.id), ["a", "line-5"])
        XCTAssertEqual(diagnostics.map(\.location.line), [3, 4, 4])
        let order = try XCTUnwrap(lines[0].order())
        XCTAssertEqual(order.job.duration, Seconds(decimal: "12.5"))
        XCTAssertEqual(order.job.tags, ["customer": "film"])
        XCTAssertNil(lines[1].order(), "no duration and no probe: the caller must probe the video")
    }
}
