import XCTest
@testable import WanRoute

/// A provider whose every price is unknown ranks its modes by what is known elsewhere.
final class UnknownPriceOrderTests: XCTestCase {
    func testModesWithoutPricesRankAsTheyArePricedElsewhere() throws {
        let catalog = Policies.catalog
        let modellix = catalog.quote(job(.animate, "10", .p720), providers: [ProviderEndpoints.modellix]).estimates
            .map { catalog.offers[$0.offerIndex].mode }
        XCTAssertEqual(modellix, [.wanStd, .wanPro], "wan-std costs less than wan-pro wherever it is priced")
        let router = try Policies.router("""
        "objective": "cheapest", "constraints": {"providers": {"allow": ["modellix"]}, "min_confidence": "unknown"}, "failover": {"alternates": 1, "on": ["failed"]}
        """)
        let decision = router.decide(job(.animate, "10", .p720))
        XCTAssertEqual(decision.choiceKey, "modellix/wan-std/720p")
        XCTAssertEqual(decision.alternates.map(\.offer.mode), [.wanPro])
    }
}
