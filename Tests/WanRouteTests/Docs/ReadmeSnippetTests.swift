import WanRoute
import XCTest

/// The README's Swift snippets, statement for statement, with what their comments say they print:
/// when a snippet changes in README.md, change it here (and the other way round).
final class ReadmeSnippetTests: XCTestCase {
    /// README, "Using the library".
    func testQuoteSnippet() throws {
        var printed: [String] = []
        func print(_ items: Any...) { printed.append(items.map { "\($0)" }.joined(separator: " ")) }

        let catalog = try PriceCatalog.builtIn()          // or PriceCatalog.load(directory: url)
        let job = Job(behavior: .replace, duration: Seconds(decimal: "45")!, resolution: .p720)
        let quote = catalog.quote(job)                     // every matching offer, cheapest eligible first
        if let best = quote.cheapest {
            let offer = catalog.offers[best.offerIndex]
            print(offer.provider, offer.mode, best.cost!)  // runware standard USD 0.954 (45 s at 0.0212)
        }
        for estimate in quote.estimates where !estimate.isEligible {
            print(estimate.reasons[0])                     // 45 s is above DashScope's 30 s limit (and 5 more)
        }
        XCTAssertEqual(printed.first, "runware standard USD 0.954")
        XCTAssertEqual(printed[1], "45 s is above DashScope's 30 s limit")
        XCTAssertEqual(printed.count, 7)
    }

    /// README, "Using the router from Swift".
    func testRouterSnippet() throws {
        var printed: [String] = []
        func print(_ items: Any...) { printed.append(items.map { "\($0)" }.joined(separator: " ")) }

        let catalog = try PriceCatalog.builtIn()
        let policy = try Policy.builtIn(named: "production", catalog: catalog)   // or Policy.load(contentsOf: fileURL, catalog:)
        let router = try Router(policy: policy, catalog: catalog)      // compile once, share across threads
        let decision = router.decide(Job(behavior: .replace, duration: Seconds(decimal: "12.5")!, tags: ["customer": "film"]),
                                     spend: SpendSnapshot(spent: [.tag("customer", "film"): Money(decimal: "310", currency: .usd)!]))
        if let choice = decision.choice { print(choice.offer.key, choice.estimate.usd!) } else { print(decision.refusal!) }
        // dashscope-cn/replace/wan-pro/720p USD 1.58175
        for r in decision.rejected.prefix(1) { print(r) }             // sentences are rendered only when asked for
        // aimlapi standard 480p: resolution 480p is not allowed by the policy (rule film-replace); ...
        let json = decision.json(policy: policy, catalog: catalog)    // the JSON `wanroute route --format json` prints
        XCTAssertEqual(printed[0], "dashscope-cn/replace/wan-pro/720p USD 1.58175")
        XCTAssertTrue(printed[1].hasPrefix("aimlapi standard 480p: "), printed[1])
        XCTAssertEqual(json["choice"]?["provider"], .string("dashscope-cn"))
    }
}
