import WanRouteTestSupport
import XCTest
@testable import WanRoute

final class CheapestPropertyTests: XCTestCase {
    func testTheCheapestPolicyAgreesWithTheQuoteOnRandomJobs() throws {
        let catalog = try Repository.catalog()
        let router = try Router(policy: Policy.builtIn(named: "cheapest", catalog: catalog), catalog: catalog)
        var rng = SeededGenerator(seed: 20_261_122)
        var chosen = 0, refused = 0
        for _ in 0..<5_000 {
            // 0.5 s to 200 s with up to three decimals.
            let micros = Int64.random(in: 500...200_000, using: &rng) * 1_000
            let job = Job(behavior: Behavior.allCases.randomElement(using: &rng)!, duration: Seconds(micros: micros),
                          resolution: Bool.random(using: &rng) ? nil : Resolution.allCases.randomElement(using: &rng),
                          mode: Bool.random(using: &rng) ? nil : Mode.allCases.randomElement(using: &rng))
            let quote = catalog.quote(job)
            let decision = router.decide(job)
            if let cheapest = quote.cheapest {
                XCTAssertEqual(decision.choice?.offerIndex, cheapest.offerIndex, "\(job)")
                XCTAssertEqual(decision.choice?.estimate, cheapest, "\(job)")
                XCTAssertEqual(decision.choiceUSDNanos, cheapest.usd?.nanos, "\(job)")
                chosen += 1
            } else {
                XCTAssertNil(decision.choice, "\(job)")
                refused += 1
            }
        }
        // Both branches were exercised.
        XCTAssertGreaterThan(chosen, 1_000)
        XCTAssertGreaterThan(refused, 100)
    }
}
