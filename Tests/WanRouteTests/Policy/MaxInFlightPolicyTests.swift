import WanRouteTestSupport
import XCTest
@testable import WanRoute

/// A policy's `max_in_flight`: tasks at once per provider account.
final class MaxInFlightPolicyTests: XCTestCase {
    func testLimitsAreReadPerProvider() throws {
        let router = try Policies.router(#""objective": "cheapest", "max_in_flight": {"dashscope-cn": 3, "apixo": 20}"#)
        XCTAssertEqual(router.policy.maxInFlight, [ProviderEndpoints.dashscopeCN: 3, ProviderEndpoints.apixo: 20])
        XCTAssertEqual(try Policies.router(#""objective": "cheapest""#).policy.maxInFlight, [:], "absent: the executor's defaults")
    }

    func testEveryBadLimitIsReported() {
        let d = PolicyFile.validate(SourceFile(name: "p.json", text: Policies.text(
            #""objective": "cheapest", "max_in_flight": {"dashscope-cm": 3, "apixo": 0, "modellix": "2", "aimlapi": 1.5}"#)), catalog: Policies.catalog)
        XCTAssertEqual(d.map(\.location.path), ["$.max_in_flight.dashscope-cm", "$.max_in_flight.apixo", "$.max_in_flight.modellix", "$.max_in_flight.aimlapi"])
        XCTAssertTrue(d[0].message.contains("did you mean \"dashscope-cn\"?"), d[0].message)
        XCTAssertEqual(d[1].message, "expected a whole number of tasks from 1 to 1000, found 0")
        XCTAssertEqual(d[2].message, "expected a whole number of tasks from 1 to 1000, found a string")
        let list = PolicyFile.validate(SourceFile(name: "p.json", text: Policies.text(#""objective": "cheapest", "max_in_flight": [3]"#)), catalog: Policies.catalog)
        XCTAssertEqual(list.first?.message, "expected an object of provider ids and task counts such as {\"dashscope-cn\": 3}, found an array")
    }
}
